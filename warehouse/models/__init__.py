from .environments import Environment, Project
from .raw import IdentityMerge, RawEvent, RawSession, RawUser

__all__ = ["Environment", "IdentityMerge", "Project", "RawEvent", "RawSession", "RawUser"]
