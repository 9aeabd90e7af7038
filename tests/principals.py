"""The callers unit tests act as: north-pcn (practices F84001 and F84002) and south-pcn."""
from shared.auth import Principal

ADMIN = Principal("admin", "admin")
LEAD = Principal("k1", "network_lead", "north-pcn")
SOUTH_LEAD = Principal("k4", "network_lead", "south-pcn")
PRACTICE = Principal("k2", "practice", "north-pcn", "F84001")
OTHER_PRACTICE = Principal("k3", "practice", "north-pcn", "F84002")
