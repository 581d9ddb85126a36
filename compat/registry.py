"""The rule registry: every rule, in order, with its metadata and its pure check.

Modelled on cog's pkg/doctor/registry.go: one explicit list, no registration by import side
effect. To add a rule: declare its `Rule` (core/rule.py) and its pure check in a module under
compat/rules/, then add it here, in ID order. `launchbuild rules`, docs/rules.md, the report's
rule metadata and the catalog test all read this list; the order is the order rules run in and
are listed in.
"""

from __future__ import annotations


from launchbuild.core.rule import GROUPS, Group, Rule
from launchbuild.compat.rules import base_image, driver_cuda, framework_kernels, knowledge, libraries, packages, source
from launchbuild.resolver import rules as inputs  # the resolver reports these; their metadata lives there

ALL_RULES: tuple[Rule, ...] = (
    # Base image
    base_image.LB101.checked_by(base_image.accelerator_not_debian),
    base_image.LB102.checked_by(base_image.python_not_installable),
    base_image.LB103.checked_by(base_image.wrong_architecture),
    base_image.LB104.checked_by(base_image.image_unreadable),
    base_image.LB105.checked_by(base_image.musl_python_base),

    # GPU, driver and CUDA
    driver_cuda.LB201.checked_by(driver_cuda.toolkit_cannot_target),
    driver_cuda.LB202.checked_by(driver_cuda.driver_too_old_for_image),
    framework_kernels.LB203.checked_by(framework_kernels.framework_lacks_arch),
    driver_cuda.LB204.checked_by(driver_cuda.driver_too_old_for_packages),
    framework_kernels.LB205.checked_by(framework_kernels.framework_cuda_mismatch),
    driver_cuda.LB206.checked_by(driver_cuda.mixed_cuda_majors),
    framework_kernels.LB207.checked_by(framework_kernels.cpu_only_framework),
    base_image.LB208.checked_by(base_image.end_of_life_image),
    libraries.LB209.checked_by(libraries.cudnn_too_old),
    libraries.LB210.checked_by(libraries.ld_library_path_shadowing),
    knowledge.LB211.checked_by(knowledge.unknown_facts),
    knowledge.LB212.checked_by(knowledge.driver_older_than_gpu),
    knowledge.LB213.checked_by(knowledge.end_of_life_python),
    knowledge.LB214.checked_by(knowledge.data_age),

    # Python packages
    inputs.LB301,  # reported by the resolver
    packages.LB302.checked_by(packages.no_wheel),
    packages.LB303.checked_by(packages.needs_nvcc),
    packages.LB304.checked_by(packages.needs_system_libraries),
    inputs.LB305,  # reported by the resolver
    packages.LB306.checked_by(packages.python_unsupported),
    inputs.LB307,  # reported by the resolver
    inputs.LB308,  # reported by the resolver
    inputs.LB309,  # reported by the resolver
    inputs.LB310,  # reported by the resolver
    inputs.LB311,  # reported by the resolver
    inputs.LB312,  # reported by the resolver

    # Source
    source.LB401.checked_by(source.entrypoint_missing),
    source.LB402.checked_by(source.secrets_or_bulk),
    source.LB403.checked_by(source.no_entrypoint),
    source.LB404,  # reported by the kubernetes engine before it submits
)

RULES: dict[str, Rule] = {r.id: r for r in ALL_RULES}


def get(rule_id: str) -> Rule:
    return RULES[rule_id]


def group_rules(group: Group) -> tuple[Rule, ...]:
    return tuple(r for r in ALL_RULES if r.group == group)


__all__ = ["ALL_RULES", "GROUPS", "RULES", "get", "group_rules"]
