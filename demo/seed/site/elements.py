"""Building blocks of the demo site model: pages and what can be done on them.

Interactions are named by a CSS selector on the real page; their element hierarchy, text and href
come from what heap.js describes on that page (shop.json, captured by `manage.py capture_demo_site`),
so seeded events are exactly what your own clicks on /demo/ produce.
"""

from dataclasses import dataclass, field

# Where `make run` serves the shop: the seeded events' domain and links.
ORIGIN = "http://127.0.0.1:8000"
DOMAIN = "127.0.0.1"


@dataclass
class Interaction:
    type: str  # click, submit, change
    target: dict
    ancestors: list[dict]  # parent first, up to <html>
    text: str = ""
    href: str = ""  # nearest link's resolved href
    goes_to: str | None = None  # page key reached by following it
    weight: float = 1.0
    # A custom event the page tracks right after this interaction (its name).
    tracks: str | None = None


@dataclass
class Page:
    key: str
    domain: str
    path: str
    title: str
    interactions: list[Interaction] = field(default_factory=list)
    query: str = ""
    # Mean number of non-navigating interactions per visit, and chance of leaving the site here.
    engagement: float = 1.0
    exit_rate: float = 0.35
    app: bool = False

    @property
    def url(self) -> str:
        return f"{ORIGIN}{self.path}"


def hierarchy_for(page: Page, interaction: Interaction) -> list[dict]:
    return [interaction.target, *interaction.ancestors]
