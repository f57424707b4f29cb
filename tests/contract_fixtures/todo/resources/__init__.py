"""The resources of the todo example: every module here is scanned by ``App(resources=[...])``."""
