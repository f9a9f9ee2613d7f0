"""Jobs enqueued by the tests and run by a real worker in another process."""


def add(a: int, b: int) -> int:
    return a + b
