"""The matcher's index: static paths in a dict, dynamic rules in a trie keyed by
their leading static segments, each node with one combined regular expression."""

from __future__ import annotations

import re
import typing as t

from .rules import Rule

# -- the index


def _slash_first(branch: Rule, exact: Rule) -> bool:
    """Would the walk reach ``branch`` (as a slash redirect) before ``exact``?"""
    assert branch._path is not None and exact._path is not None
    bkey, ekey = branch._path.slashless_key, exact._path.sort_key
    if bkey != ekey:
        return bkey < ekey
    if branch._path.shape[:-1] == exact._path.shape:
        return False
    return branch._order < exact._order


class _Node:
    __slots__ = ("children", "rules", "regex", "ordered", "has_branch", "by_group")

    def __init__(self) -> None:
        self.children: dict[str, _Node] = {}
        self.rules: list[Rule] = []
        self.regex: re.Pattern[str] | None = None
        self.ordered: list[Rule] = []
        self.has_branch = False
        # name of a rule's outer group -> (position, rule, its converter groups)
        self.by_group: dict[str, tuple[int, Rule, tuple[tuple[str, str, t.Any], ...]]] = {}


def _rule_order(rule: Rule) -> tuple[t.Any, ...]:
    assert rule._path is not None
    return rule._path.sort_key


class _Index:
    """Static dict + trie of dynamic rules with one combined regex per trie node."""

    def __init__(self, rules: list[Rule], by_endpoint: dict[t.Any, list[Rule]]) -> None:
        self.static: dict[str, list[Rule]] = {}
        self.root = _Node()
        for rule in rules:
            if rule.build_only:
                continue
            assert rule._path is not None
            if rule._path.is_static:
                self.static.setdefault(rule.rule, []).append(rule)
                continue
            node = self.root
            for seg in rule._path.static_prefix():
                node = node.children.setdefault(seg, _Node())
            node.rules.append(rule)
        self._finish(self.root, [])
        # paths that a static rule ending in "/" answers with a slash redirect
        self.slash_static = {path[:-1] for path in self.static if path[-1:] == "/"}
        self.dynamic_branch = any(
            r.is_branch and r._path is not None and not r._path.is_static for r in rules
        )
        # a matched rule redirects to a rule of its endpoint that provides its
        # defaults, considering only the rules ahead of it in build order
        self.providers: dict[int, list[Rule]] = {}
        for same_endpoint in by_endpoint.values():
            for pos, rule in enumerate(same_endpoint):
                for other in same_endpoint[:pos]:
                    if other.provides_defaults_for(rule):
                        self.providers.setdefault(id(rule), []).append(other)

    def _finish(self, node: _Node, inherited: list[Rule]) -> None:
        # stable sort: priority first, registration order among equals
        ordered = sorted(inherited + node.rules, key=_rule_order)
        order_index = {id(r): i for i, r in enumerate(inherited + node.rules)}
        ordered.sort(key=lambda r: (_rule_order(r), order_index[id(r)]))
        node.ordered = ordered
        node.has_branch = any(rule.is_branch for rule in ordered)
        if ordered:
            alternatives = []
            for idx, rule in enumerate(ordered):
                assert rule._path is not None
                alternatives.append(f"(?P<_R{idx}>{rule._path.regex_for(f'_{idx}_')})")
                node.by_group[f"_R{idx}"] = (idx, rule, rule._path.groups_for(f"_{idx}_"))
            node.regex = re.compile("|".join(alternatives))
        for child in node.children.values():
            self._finish(child, ordered)

    def candidates(self, path: str) -> _Node:
        """The deepest trie node along the leading segments of ``path``."""
        node = self.root
        children = node.children
        pos = 1
        find = path.find
        while children:
            end = find("/", pos)
            if end < 0:
                break
            nxt = children.get(path[pos:end])
            if nxt is None:
                break
            node = nxt
            children = node.children
            pos = end + 1
        return node


