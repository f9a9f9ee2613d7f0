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


def post_by_slug(slug: str) -> Post | None:
    return next((post for post in POSTS if post.slug == slug), None)
