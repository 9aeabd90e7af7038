"""A huddle board on a screen in the practice, opened by a device link the practice lead issues, lists and revokes."""


class WallboardPages:
    """Mixed into ``WebService`` (its ``upstream`` and ``page`` machinery)."""
