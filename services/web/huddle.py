"""A team's huddle board: To do, Doing, Done; add, move, assign, escalate, resolve; bottlenecks marked."""


class HuddlePages:
    """Mixed into ``WebService`` (its ``upstream`` and ``page`` machinery)."""
