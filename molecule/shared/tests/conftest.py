"""A node kind the scenario does not have (no agent nodes in `default`) has nothing to verify: its
tests are deselected (reported as such), not skipped."""


def pytest_collection_modifyitems(config, items):
    absent = [item for item in items if getattr(item.module, "testinfra_hosts", None) == []]
    if absent:
        config.hook.pytest_deselected(items=absent)
        items[:] = [item for item in items if item not in absent]
