"""What the operations commands share: stack config -> connection, scope, checks and requirements."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from cluster.connection import LxdEndpoint
from config.operations import (
    OPERATIONS_KEY,
    SYSCTL_READER_FIELDS,
    checked_template,
    health_check,
    operations_settings,
)
from ops.health import HttpCheck
from ops.host_requirements import CommandSysctlReader, SysctlRequirement
from ops.services import Service, services
from ops.workloads import Scope
from toolchain.stack_config import StackConfig, endpoint_from_stack, read_stack_config


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--stack", default="lab", help="Pulumi stack whose config names the cluster (default lab)")
    parser.add_argument("--dry-run", action="store_true", help="print the plan, change nothing")
    parser.add_argument("--prefix", default=None, help="only instances whose name starts with this")
    parser.add_argument("--all-instances", action="store_true",
                        help="also instances not created by this project (no user.lxdha.managed)")


def add_service_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--check-url", action="append", default=[], metavar="URL",
                        help="extra HTTP health check (200 = healthy); repeatable")
    parser.add_argument("--require", action="append", default=[], metavar="KEY=VALUE",
                        help="extra kernel parameter the members must have; repeatable")
    parser.add_argument("--sysctl-reader", default=None, metavar="CMD",
                        help="command template printing a member's value: {member} {address} {key} "
                             "(default: lxdha:operations.sysctlReader)")


def scope_from(args: argparse.Namespace) -> Scope:
    return Scope(prefix=args.prefix, managed_only=not args.all_instances)


def load(stack: str) -> tuple[StackConfig, LxdEndpoint]:
    config = read_stack_config(stack)
    return config, endpoint_from_stack(config)


def services_from(config: StackConfig, args: argparse.Namespace) -> list[Service]:
    found = services(config)
    extra_checks = tuple(HttpCheck.of(health_check({"name": url, "url": url}, "--check-url")) for url in args.check_url)
    extra_required = tuple(SysctlRequirement.parse(text) for text in args.require)
    if extra_checks or extra_required:
        found.append(Service("command line", extra_checks, extra_required))
    return found


def sysctl_reader_from(config: StackConfig, args: argparse.Namespace) -> CommandSysctlReader | None:
    if args.sysctl_reader:
        template = checked_template(args.sysctl_reader, SYSCTL_READER_FIELDS, "--sysctl-reader")
    else:
        template = operations_settings(config.get(OPERATIONS_KEY)).sysctl_reader
    return CommandSysctlReader(template) if template else None


def requirements_of(found: Sequence[Service]) -> list[SysctlRequirement]:
    return [r for s in found for r in s.requirements]
