"""Blog posts of the demo site (static content; the demo has no models)."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Post:
    slug: str
    title: str
    author: str
    date: str
    tag: str
    summary: str
    paragraphs: tuple[str, ...]


POSTS = (
    Post(
        slug="weekly-planning",
        title="How we run weekly planning in 20 minutes",
        author="Dana Ortiz",
        date="2026-11-03",
        tag="Process",
        summary="A fixed agenda, a shared board and one rule: nobody presents slides.",
        paragraphs=(
            "Planning meetings grow until they fill the week. Ours used to take two hours.",
            "We now keep to a fixed agenda: what shipped, what is blocked, what is next.",
            "Each card on the board has one owner, and the owner moves it. Nobody presents slides.",
        ),
    ),
    Post(
        slug="keyboard-shortcuts",
        title="Twelve keyboard shortcuts that save an hour a week",
        author="Sam Lee",
        date="2026-10-21",
        tag="Product",
        summary="From quick-add to jumping between boards without touching the mouse.",
        paragraphs=(
            "Press C anywhere to create a card, and Tab to move between its fields.",
            "G then B jumps to your boards; G then S opens settings.",
            "Shift+Enter saves and opens the next card, which makes triage fast.",
        ),
    ),
    Post(
        slug="remote-retros",
        title="Retrospectives that work for remote teams",
        author="Priya Natarajan",
        date="2026-09-30",
        tag="Culture",
        summary="Silent writing first, then discussion: everyone gets heard.",
        paragraphs=(
            "Start with five minutes of silent writing so the loudest voice does not set the agenda.",
            "Group the cards, vote, and discuss the top three only.",
            "Every retro ends with one owner per action, tracked on the board like any other work.",
        ),
    ),
)


POSTS += (
    Post(
        slug="wip-limits",
        title="WIP limits: why fewer cards in Doing ships more",
        author="Dana Ortiz",
        date="2026-09-12",
        tag="Process",
        summary="A limit on work in progress turns a busy board into a finishing board.",
        paragraphs=(
            "Every card in Doing is a promise. Ten promises at once means none is kept on time.",
            "Set a limit per column and make it visible: the board turns red when it is exceeded.",
            "Teams that tried it for a month finished a third more cards with the same people.",
        ),
    ),
    Post(
        slug="sprint-reviews",
        title="Sprint reviews people want to attend",
        author="Sam Lee",
        date="2026-08-27",
        tag="Product",
        summary="Show working software, invite a customer, and keep it to half an hour.",
        paragraphs=(
            "A review is not a status meeting: demo what changed, nothing else.",
            "One customer in the room changes the conversation more than any slide.",
            "Thirty minutes, a clear owner for each follow-up, and the board updated before people leave.",
        ),
    ),
    Post(
        slug="swimlanes",
        title="Swimlanes for teams that share one board",
        author="Priya Natarajan",
        date="2026-08-05",
        tag="Product",
        summary="One board, many teams: swimlanes keep each team's work apart without splitting the board.",
        paragraphs=(
            "Splitting a board per team hides the dependencies between them.",
            "A swimlane per team keeps the columns shared and the ownership clear.",
            "Filter by lane when you plan, show every lane when you review.",
        ),
    ),
)


def post_by_slug(slug: str) -> Post | None:
    return next((post for post in POSTS if post.slug == slug), None)
