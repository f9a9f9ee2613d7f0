from django.core.management.base import BaseCommand, CommandError

from demo.seed.site.capture import SHOP_JSON, describe_site, write_shop_json


class Command(BaseCommand):
    help = (
        "Describe the demo shop's elements with heap.js in Chromium (a running server, e.g. `make run`) and write "
        "demo/seed/site/shop.json, which seed_demo's events are made of. Run it after changing the shop's pages."
    )

    def add_arguments(self, parser):
        parser.add_argument("--url", default="http://127.0.0.1:8000", help="where the app (and /demo/) is served")
        parser.add_argument("--chromium", default="/usr/bin/chromium")

    def handle(self, *args, url, chromium, **options):
        try:
            from playwright.sync_api import sync_playwright  # a development requirement
        except ImportError:
            raise CommandError("needs Playwright (requirements-dev.txt)") from None
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=chromium, headless=True, args=["--no-sandbox", "--disable-gpu"]
            )
            try:
                described = describe_site(browser.new_page(), url.rstrip("/"))
            except LookupError as error:
                raise CommandError(str(error)) from None
            finally:
                browser.close()
        write_shop_json(described)
        self.stdout.write(f"Wrote {SHOP_JSON} ({sum(len(page['elements']) for page in described.values())} elements)")
