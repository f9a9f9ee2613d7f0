"""The demo: Acme Boards, a made-up product. `shop/` is its website under /demo/ (carrying the snippet,
so your own clicks are captured); `seed/` writes its history into an environment's raw store
(`manage.py seed_demo`, run by the first `manage.py up`)."""
