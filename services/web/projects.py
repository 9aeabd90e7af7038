"""Projects grouped by stage with their IHI progress score, a project's page, and its PDSA cycles started and completed."""


class ProjectPages:
    """Mixed into ``WebService`` (its ``upstream`` and ``page`` machinery)."""
