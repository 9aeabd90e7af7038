"""The lead's settings: practices and their keys, measures, notification routes and watchers, the network's training requirements and targets."""


class LeadSettingsPages:
    """Mixed into ``WebService`` (its ``upstream`` and ``page`` machinery)."""
