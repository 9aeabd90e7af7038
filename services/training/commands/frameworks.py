"""A network's capability framework: read by every key of the network, changed by its leads;
a change applies from then on, each person's obligations derived again."""
from services.training.commands.overdue import store_staff_change
from services.training.domain import framework
from services.training.domain.framework import day
from services.training.domain.obligations import (closing_events, derive_obligations,
                                                  with_obligations)
from shared import access
from shared.domain import Change


def get_framework(repository, principal, network_id):
    access.check_network_readable(principal, network_id)
    return repository.framework(network_id)


def change_framework(repository, principal, command, now, trace):
    """A network lead changes requirements, refresh periods or targets; the change applies
    from ``now``: each person's obligations are derived again (gaps already raised stay)."""
    network_id = command["network_id"]
    current = repository.framework(network_id)
    change = framework.change_framework(current, {k: v for k, v in command.items()
                                                  if k != "network_id"}, principal, now)
    stored = repository.save_framework(current, change)
    for staff in repository.staff_in(network_id):
        obligations = derive_obligations(staff, stored, now)
        if obligations != staff["obligations"]:
            store_staff_change(repository, Change(
                staff, set=with_obligations(staff, obligations),
                events=closing_events(staff, obligations, day(now), trace)))
    return stored
