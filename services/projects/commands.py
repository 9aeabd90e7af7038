"""The service layer of the projects service: what its entrypoints call.

Commands take (repository, principal, [the id they act on,] command, now, trace): they read
what they need, check access (``shared.access``) and the domain's rules, store the result with
its events in one write, and return the stored document. Queries take (repository, principal,
...) and return a document or a page. Refusals are ``shared.domain`` errors; nothing here knows
HTTP or the broker, so tests run these against the in-memory store.
"""
from shared import access
from shared.auth import API_KEYS, generate_key
from shared.domain import NotFoundError, RuleBroken

from services.projects import domain
from services.projects.repository import NETWORKS, PDSA_CYCLES, PRACTICES, PROJECTS

# --- registry -----------------------------------------------------------------------------

def create_network(repository, principal, command, now, trace):
    network, events = domain.register_network(command, now, trace)
    return repository.insert(NETWORKS, network, events,
                             conflict_message="the network exists already")


def list_networks(repository, principal, query):
    return repository.listing(
        NETWORKS, repository.scoped(access.listing_scope(principal), network_field="_id"),
        query)


def create_practice(repository, principal, command, now, trace):
    if repository.find(NETWORKS, command["network_id"]) is None:
        raise RuleBroken("no such network",
                         {"network_id": [f"{command['network_id']} is unknown"]})
    if not access.may_manage_network(principal, command["network_id"]):
        raise NotFoundError("no such network", {"network_id": ["not found"]})
    practice, events = domain.register_practice(command, now, trace)
    return repository.insert(PRACTICES, practice, events,
                             conflict_message="the practice exists already")


def list_practices(repository, principal, query):
    # Every key of a network sees the network's practices.
    selector = repository.scoped(access.listing_scope(principal),
                                 network_id=query.get("network_id") or None)
    return repository.listing(PRACTICES, selector, query)


def issue_api_key(repository, principal, command, now, trace):
    """The stored key with ``api_key``, the key itself: shown this once, only its hash is kept."""
    practice = (repository.find(PRACTICES, command["practice_id"])
                if command["practice_id"] else None)
    network_exists = bool(command["network_id"]) and (
        repository.find(NETWORKS, command["network_id"]) is not None)
    network_id, practice_id = access.key_binding(
        principal, command["role"], command["network_id"], practice, network_exists,
        command.get("staff_id"))
    key_id, api_key, key_hash = generate_key()
    document, events = domain.issue_key(key_id, key_hash, command["role"], network_id,
                                        practice_id, command["label"], now, trace,
                                        command.get("staff_id"))
    repository.insert(API_KEYS, document, events)
    return {**document, "api_key": api_key}


def list_api_keys(repository, principal, query):
    return repository.listing(API_KEYS, repository.scoped(access.listing_scope(principal)),
                              query)


def revoke_api_key(repository, principal, key_id, now, trace):
    key = repository.get_or_404(API_KEYS, key_id, "API key")
    if not access.may_revoke_key(principal, key):
        raise NotFoundError("no such API key", {"id": [f"{key_id} not found"]})
    return repository.apply(API_KEYS, domain.revoke_key(key, now, trace))


# --- projects -----------------------------------------------------------------------------

def create_project(repository, principal, command, now, trace):
    command = {**command, "network_id": command["network_id"] or principal.network_id}
    if not command["network_id"]:
        raise RuleBroken("say which network", {"network_id": ["required for admin keys"]})
    practices = repository.practices_by_code(command["practice_ids"])
    domain.check_project_creation(principal, command, practices)
    project, events = domain.create_project(command, now, trace)
    return repository.insert(PROJECTS, project, events)


def list_projects(repository, principal, query):
    selector = repository.scoped(access.listing_scope(principal), practice_field="practice_ids",
                                 stage=query.get("stage"), network_id=query.get("network_id"),
                                 practice_ids=query.get("practice_id"))
    return repository.listing(PROJECTS, selector, query, sort=(("created_at", -1), ("_id", 1)))


def get_project(repository, principal, project_id):
    project = repository.get_or_404(PROJECTS, project_id, "project")
    access.check_project_visible(principal, project)
    return project


def change_stage(repository, principal, project_id, command, now, trace):
    project = get_project(repository, principal, project_id)
    access.check_project_write(principal, project)
    return repository.apply(PROJECTS, domain.change_stage(project, command["stage"],
                                                          command["reason"], now, trace))


def join_practice(repository, principal, project_id, command, now, trace):
    project = get_project(repository, principal, project_id)
    practice = repository.find(PRACTICES, command["practice_id"])
    if practice is None:
        raise RuleBroken("no such practice",
                         {"practice_id": [f"{command['practice_id']} is not registered"]})
    return repository.apply(PROJECTS, domain.join_practice(project, practice, now, trace))


def add_member(repository, principal, project_id, command, now, trace):
    project = get_project(repository, principal, project_id)
    member = {**command,
              "practice_id": access.acting_practice(principal, command["practice_id"])}
    access.check_project_write(principal, project, member["practice_id"])
    return repository.apply(PROJECTS, domain.add_member(project, member, now, trace))


# --- PDSA cycles --------------------------------------------------------------------------

def start_pdsa_cycle(repository, principal, project_id, command, now, trace):
    project = get_project(repository, principal, project_id)
    practice_id = domain.cycle_practice(
        project, access.acting_practice(principal, command["practice_id"]))
    access.check_project_write(principal, project, practice_id)
    cycle, events = domain.start_cycle(project, command, practice_id, now, trace)
    return repository.insert(PDSA_CYCLES, cycle, events)


def list_pdsa_cycles(repository, principal, project_id, query):
    get_project(repository, principal, project_id)
    return repository.listing(PDSA_CYCLES, {"project_id": project_id}, query,
                              sort=(("started_on", 1), ("_id", 1)))


def get_pdsa_cycle(repository, principal, cycle_id):
    cycle = repository.get_or_404(PDSA_CYCLES, cycle_id, "PDSA cycle")
    get_project(repository, principal, cycle["project_id"])
    return cycle


def update_pdsa_cycle(repository, principal, cycle_id, command, now, trace):
    if not command:
        raise RuleBroken("nothing to change", {"_schema": ["give at least one field"]})
    cycle = repository.get_or_404(PDSA_CYCLES, cycle_id, "PDSA cycle")
    project = get_project(repository, principal, cycle["project_id"])
    access.check_project_write(principal, project, cycle["practice_id"])
    return repository.apply(PDSA_CYCLES, domain.update_cycle(cycle, command, now, trace))
