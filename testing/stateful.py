"""Stateful fuzzing: sequences of requests that feed what one operation returns into another.

Links come from types, not from names alone. A response field whose type is a ``NewType`` (or a
class of its own) feeds every path parameter and JSON body field of that type; a plain-typed
field feeds a parameter only when the names agree too (``Todo.id`` → ``todo_id``, ``Loan.book_id``
→ ``book_id``) and so do the types. From the links a Hypothesis ``RuleBasedStateMachine`` is
built, with a bundle of ids per link; a DELETE consumes the id it removed. Besides the usual
checks on every step, two checks follow each create and delete: `resource_available` (what was
just created can be fetched) and `use_after_free` (what was just deleted is gone).
"""

from __future__ import annotations

import collections
import hashlib
import typing
from collections.abc import Hashable, Sequence
from typing import TYPE_CHECKING, Any

import attrs
import orjson
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, consumes, multiple, rule

from framework.typed._typeinfo import is_attrs, is_union
from framework.typed.constraints import split_annotated
from framework.typed.plan import Location, OperationPlan, ParameterPlan, snake_case
from testing.report import Case, Exchange, Failure, Step
from testing.strategies import Part, RequestStrategies, text_of

if TYPE_CHECKING:
    from testing.fuzz import Engine

__all__ = ["Link", "Producer", "find_links", "fuzz_stateful"]

_NoneType = type(None)
_PLAIN = frozenset({int, str, float, bool})


def _base(tp: Any) -> Any:
    """``tp`` past ``Annotated`` and ``Optional``, keeping a ``NewType``."""
    base = split_annotated(tp)[0]
    if is_union(base):
        members = [m for m in typing.get_args(base) if m is not _NoneType]
        if len(members) == 1:
            return _base(members[0])
    return base


def _plain(tp: Any) -> Any:
    """``tp`` past ``Annotated``, ``Optional`` and every ``NewType``."""
    base = _base(tp)
    while getattr(base, "__supertype__", None) is not None:
        base = _base(base.__supertype__)
    return base


def _typed_key(tp: Any) -> Hashable | None:
    """The link key of a type that identifies a resource on its own: a ``NewType``, or a class
    that is not a builtin scalar (a ``UUID`` subclass, an enum of ids...)."""
    base = _base(tp)
    if getattr(base, "__supertype__", None) is not None:
        return base  # type: ignore[no-any-return]
    return None


@attrs.frozen
class Producer:
    """An operation whose success response carries ids: which field holds which link key."""

    operation: str
    fields: tuple[tuple[str, Hashable], ...]


@attrs.frozen
class Link:
    """A parameter (or a body field) of ``operation`` that takes the ids of ``key``."""

    operation: str
    key: Hashable
    parameter: str
    body_field: str | None = None

    @property
    def target(self) -> tuple[str, str, str | None]:
        """Where the id goes: operation, parameter and body field."""
        return (self.operation, self.parameter, self.body_field)


def _response_fields(plan: OperationPlan) -> list[tuple[str, Any, str]]:
    """``(field, type, class name)`` of the model a successful ``plan`` answers with."""
    planned = plan.response(plan.status_code)
    model = None if planned is None else _base(planned.body)
    if model is None or not is_attrs(model):
        return []
    hints = typing.get_type_hints(model, include_extras=True)
    return [
        (
            attribute.alias or attribute.name,
            hints.get(attribute.name, attribute.type),
            model.__name__,
        )
        for attribute in attrs.fields(model)
    ]


def _candidates(field: str, tp: Any, owner: str) -> list[Hashable]:
    """The keys a response field can feed: its own type's, or its names with its plain type."""
    typed = _typed_key(tp)
    if typed is not None:
        return [typed]
    plain = _plain(tp)
    if plain not in _PLAIN:
        return []
    if field == "id":
        return [(f"{snake_case(owner)}_id", plain)]
    return [(field, plain)] if _names_an_id(field) else []


def _names_an_id(name: str) -> bool:
    """Whether a plain-typed name is one an id goes by (``book_id``, ``bookId``)."""
    return name.endswith(("_id", "Id"))


def _consumer_key(name: str, tp: Any) -> list[Hashable]:
    typed = _typed_key(tp)
    keys: list[Hashable] = [] if typed is None else [typed]
    plain = _plain(tp)
    if plain in _PLAIN and _names_an_id(name):
        keys.append((name, plain))
    return keys


def find_links(plans: Sequence[OperationPlan]) -> tuple[list[Producer], list[Link]]:
    """The producers and consumers of ids among ``plans``, matched by type (then name)."""
    consumers: list[Link] = []
    for plan in plans:
        operation = f"{plan.method} {plan.path_format}"
        for parameter in plan.parameters:
            if parameter.location is Location.PATH:
                for key in _consumer_key(parameter.name, parameter.annotation):
                    consumers.append(Link(operation, key, parameter.name))
            elif parameter.location is Location.BODY and is_attrs(_base(parameter.annotation)):
                model = _base(parameter.annotation)
                hints = typing.get_type_hints(model, include_extras=True)
                for attribute in attrs.fields(model):
                    name = attribute.alias or attribute.name
                    tp = hints.get(attribute.name, attribute.type)
                    for key in _consumer_key(name, tp):
                        consumers.append(Link(operation, key, parameter.name, name))
    consumed = {link.key for link in consumers}
    producers = []
    for plan in plans:
        fields = [
            (field, key)
            for field, tp, owner in _response_fields(plan)
            for key in _candidates(field, tp, owner)
            if key in consumed
        ]
        if fields and plan.method in {"POST", "PUT"}:
            producers.append(Producer(f"{plan.method} {plan.path_format}", tuple(fields)))
    produced = {key for producer in producers for _, key in producer.fields}
    links = [link for link in consumers if link.key in produced]
    # A parameter matched both by its type and by its name keeps the typed link only.
    typed = {link.target for link in links if not isinstance(link.key, tuple)}
    links = [link for link in links if not isinstance(link.key, tuple) or link.target not in typed]
    return producers, links


def _bundle_name(key: Hashable) -> str:
    return "ids_" + hashlib.sha1(repr(key).encode()).hexdigest()[:10]


class _Sequence:
    """The steps of one sequence; a failure carries them all. Inside Hypothesis (``raising``)
    a new bug is raised to be shrunk; in the deterministic phase it is recorded as found."""

    def __init__(self, engine: Engine, *, raising: bool) -> None:
        self.engine = engine
        self.raising = raising
        self.steps: list[Step] = []

    def step(self, case: Case, operation: str) -> Exchange:
        engine = self.engine
        exchange = engine.send(case)
        self.steps.append(Step(case, exchange))
        failure = engine.judge(case, exchange, engine.operations[operation], None)
        if failure is not None:
            self._found(attrs.evolve(failure, steps=tuple(self.steps)))
        return exchange

    def expect(self, check: str, case: Case, exchange: Exchange, message: str) -> None:
        if check in self.engine.checks:
            self._found(Failure(check, case.operation, message, case, exchange, tuple(self.steps)))

    def _found(self, failure: Failure) -> None:
        if self.raising:
            self.engine.raise_new(failure)
        else:
            self.engine.record(failure)


class _Machine(RuleBasedStateMachine):
    """Base of the generated machines: the engine, and the current sequence."""

    engine: Engine

    def __init__(self) -> None:
        super().__init__()
        # NOTE: each sequence starts from a fresh app, so that a shrunk sequence replays against
        # the state it was found in, and its reproduction needs nothing that came before.
        self.engine.restart()
        self.sequence = _Sequence(self.engine, raising=True)


class _Builder:
    """Builds the machine's rules from the engine's plans and the links between them.

    Each operation that takes or gives ids gets one rule: its linked parameters draw from their
    bundles (a DELETE of one id consumes it), and the ids it answers with go to their bundles.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.producers, self.links = find_links(list(engine.operations.values()))
        keys = {link.key for link in self.links}
        self.bundles = {key: Bundle(_bundle_name(key)) for key in sorted(keys, key=repr)}
        self.getters = self._getters()

    def _getters(self) -> dict[Hashable, Link]:
        """For each key, the link of a GET whose only path parameter takes it."""
        found: dict[Hashable, Link] = {}
        for link in self.links:
            plan = self.engine.operations[link.operation]
            if (
                plan.method == "GET"
                and link.body_field is None
                and len(plan.located(Location.PATH)) == 1
            ):
                found.setdefault(link.key, link)
        return found

    def request(self, operation: str, data: st.DataObject | None, ids: dict[Link, Any]) -> Case:
        """A valid request to ``operation`` with each linked parameter set to its id; the other
        parameters drawn from ``data``, or at their simplest without it."""
        requests = self.engine.requests[operation]
        parts = requests.simplest_parts() if data is None else data.draw(requests.parts())
        for link, value in ids.items():
            parameter = next(p for p in requests.parameters if p.name == link.parameter)
            parts = _linked(parts, parameter, link, value, requests)
        return requests.case(parts)

    def rules(self) -> dict[str, Any]:
        """The machine's rules, by name."""
        produced = {producer.operation: producer for producer in self.producers}
        links: dict[str, list[Link]] = {}
        for link in self.links:
            links.setdefault(link.operation, []).append(link)
        namespace: dict[str, Any] = {}
        for index, operation in enumerate(sorted({*produced, *links})):
            producer = produced.get(operation)
            taken = links.get(operation, [])
            own = {link.key for link in taken}
            gives = [] if producer is None else [(f, k) for f, k in producer.fields if k not in own]
            if not gives and not taken:
                continue
            name = f"{index}_{_identifier(operation)}"
            namespace[name] = self._rule(operation, taken, gives)
        return namespace

    def _rule(self, operation: str, taken: list[Link], gives: list[tuple[str, Hashable]]) -> Any:
        builder = self
        plan = self.engine.operations[operation]
        in_path = [link for link in taken if link.body_field is None]
        deletes = plan.method == "DELETE" and len(in_path) == 1
        arguments: dict[str, Any] = {"data": st.data()}
        for index, link in enumerate(taken):
            bundle = self.bundles[link.key]
            arguments[f"id_{index}"] = consumes(bundle) if deletes and link in in_path else bundle
        targets = tuple(self.bundles[key] for _, key in gives[:1])

        def call(machine: _Machine, data: st.DataObject, **drawn: Any) -> Any:
            ids = {link: drawn[f"id_{index}"] for index, link in enumerate(taken)}
            case = builder.request(operation, data, ids)
            exchange = machine.sequence.step(case, operation)
            success = 200 <= exchange.status < 300
            if deletes and success:
                builder.follow_delete(machine.sequence, data, in_path[0].key, ids[in_path[0]])
            if not targets:
                return None
            field, key = gives[0]
            value = _field_of(exchange, field) if success else None
            if value is None:
                return multiple()
            builder.follow_create(machine.sequence, data, key, value)
            return value

        call.__name__ = _identifier(operation)
        if targets:
            return rule(target=targets[0], **arguments)(call)
        return rule(**arguments)(call)  # type: ignore[no-untyped-call]

    def follow_create(
        self, sequence: _Sequence, data: st.DataObject | None, key: Hashable, value: Any
    ) -> None:
        """After a create: the linked GET finds the new resource (`resource_available`)."""
        getter = self.getters.get(key)
        if getter is None:
            return
        case = self.request(getter.operation, data, {getter: value})
        exchange = sequence.step(case, getter.operation)
        if exchange.status == 404:
            message = f"{text_of(value)} was just created, but the GET answers 404"
            sequence.expect("resource_available", case, exchange, message)

    def follow_delete(
        self, sequence: _Sequence, data: st.DataObject | None, key: Hashable, value: Any
    ) -> None:
        """After a delete: the linked GET no longer finds the resource (`use_after_free`)."""
        getter = self.getters.get(key)
        if getter is None:
            return
        case = self.request(getter.operation, data, {getter: value})
        exchange = sequence.step(case, getter.operation)
        if 200 <= exchange.status < 300:
            message = f"{text_of(value)} was deleted, but the GET answers {exchange.status}"
            sequence.expect("use_after_free", case, exchange, message)

    def boundary(self) -> None:
        """The deterministic phase: each valid boundary request of each operation that creates
        a resource (it takes no ids), then every operation that takes that one id, with the
        simplest other values, and last each DELETE of it."""
        engine = self.engine
        per_operation = collections.Counter(link.operation for link in self.links)
        taking: dict[Hashable, list[Link]] = {}
        for link in self.links:
            if per_operation[link.operation] == 1:
                taking.setdefault(link.key, []).append(link)
        for producer in self.producers:
            if any(link.operation == producer.operation for link in self.links):
                continue
            field, key = producer.fields[0]
            consumers = sorted(
                taking.get(key, []),
                key=lambda link: engine.operations[link.operation].method == "DELETE",
            )
            for case in engine.requests[producer.operation].boundary():
                if not case.valid:
                    continue
                sequence = _Sequence(engine, raising=False)
                exchange = sequence.step(case, producer.operation)
                value = _field_of(exchange, field) if 200 <= exchange.status < 300 else None
                if value is None:
                    continue
                self.follow_create(sequence, None, key, value)
                for link in consumers:
                    step = sequence.step(
                        self.request(link.operation, None, {link: value}), link.operation
                    )
                    deleted = engine.operations[link.operation].method == "DELETE"
                    if deleted and link.body_field is None and 200 <= step.status < 300:
                        self.follow_delete(sequence, None, key, value)


def _identifier(operation: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in operation.lower()).strip("_")


def _field_of(exchange: Exchange, field: str) -> Any:
    """The JSON value of ``field`` in a response object, or None."""
    if exchange.media_type != "application/json":
        return None
    try:
        data = orjson.loads(exchange.body)
    except orjson.JSONDecodeError:
        return None
    return data.get(field) if isinstance(data, dict) else None


def _linked(
    parts: list[Part], parameter: ParameterPlan, link: Link, value: Any, requests: RequestStrategies
) -> list[Part]:
    """``parts`` with ``link``'s parameter (or body field) set to ``value``, a JSON value."""
    if link.body_field is None:
        kept = [
            p for p in parts if not (p.location is Location.PATH and p.name == parameter.wire_name)
        ]
        return [*kept, Part(Location.PATH, parameter.wire_name, (text_of(value),))]
    for index, part in enumerate(parts):
        if part.location is Location.BODY and isinstance(part.json, dict):
            return [
                *parts[:index],
                attrs.evolve(part, json={**part.json, link.body_field: value}),
                *parts[index + 1 :],
            ]
    return parts


def fuzz_stateful(engine: Engine) -> None:
    """Run the state machine of ``engine``'s app, recording every distinct failure."""
    builder = _Builder(engine)
    builder.boundary()
    rules = builder.rules()
    if not rules:
        return
    digest = hashlib.sha1(f"{engine.app.title}\0{sorted(rules)}".encode()).hexdigest()[:12]
    # NOTE: Hypothesis keys a machine's saved failures on its class name.
    machine = type(f"Stateful_{digest}", (_Machine,), {**rules, "engine": engine})
    if engine.seed is not None:
        machine = hypothesis_seed(engine.seed)(machine)
    engine.explore_machine(machine)
