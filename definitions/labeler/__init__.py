"""The visual labeler (docs/labeler.md): define events by pointing at elements of the customer's own site."""
