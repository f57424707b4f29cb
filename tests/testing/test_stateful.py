"""Links between operations come from types: a chain of create → use → delete → read, with a
bug only its last step shows, is found and reported as its whole sequence."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from typing import NewType

import attrs

from framework import App, HTMLResponse, HTTPEndpoint, HTTPException, Route, raises, status_code
from testing.fuzz import fuzz
from testing.stateful import find_links

BookId = NewType("BookId", int)
LoanId = NewType("LoanId", int)


@attrs.frozen
class NewBook:
    title: str = attrs.field(validator=attrs.validators.max_len(20))


@attrs.frozen
class Book:
    id: BookId
    title: str
    on_loan: bool = False


@attrs.frozen
class NewLoan:
    book_id: BookId


@attrs.frozen
class Loan:
    id: LoanId
    book_id: BookId


@attrs.define
class Library:
    buggy: bool
    books: dict[int, Book] = attrs.field(factory=dict)
    loans: dict[int, Loan] = attrs.field(factory=dict)
    returned: dict[int, int] = attrs.field(factory=dict)
    next_id: int = 1

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id - 1


class Books(HTTPEndpoint):
    @status_code(201)
    async def post(self, state: Library, body: NewBook) -> Book:
        book = Book(BookId(state.new_id()), body.title)
        state.books[book.id] = book
        return book


class BookItem(HTTPEndpoint):
    @raises(404)
    async def get(self, state: Library, book_id: BookId) -> Book:
        book = state.books.get(book_id)
        if book is None:
            raise HTTPException(404, "no such book")
        if state.buggy and book_id in state.returned:
            # The bug: a returned book's loan record is looked up after it was deleted.
            state.loans[state.returned[book_id]]
        return book


class Loans(HTTPEndpoint):
    @status_code(201)
    @raises(404)
    async def post(self, state: Library, body: NewLoan) -> Loan:
        if body.book_id not in state.books:
            raise HTTPException(404, "no such book")
        loan = Loan(LoanId(state.new_id()), body.book_id)
        state.loans[loan.id] = loan
        return loan


class LoanItem(HTTPEndpoint):
    @raises(404)
    async def get(self, state: Library, loan_id: LoanId) -> Loan:
        loan = state.loans.get(loan_id)
        if loan is None:
            raise HTTPException(404, "no such loan")
        return loan

    @raises(404)
    @status_code(204)
    async def delete(self, state: Library, loan_id: LoanId) -> None:
        loan = state.loans.pop(loan_id, None)
        if loan is None:
            raise HTTPException(404, "no such loan")
        state.returned[loan.book_id] = loan_id


def library(*, buggy: bool) -> App:
    def lifespan_of() -> Callable[[App], AbstractAsyncContextManager[Library]]:
        @contextlib.asynccontextmanager
        async def lifespan(app: App) -> AsyncIterator[Library]:
            yield Library(buggy=buggy)

        return lifespan

    return App(
        routes=[
            Route("/books", Books),
            Route("/books/{book_id:int}", BookItem),
            Route("/loans", Loans),
            Route("/loans/{loan_id:int}", LoanItem),
        ],
        lifespan=lifespan_of(),
        title=f"Library {buggy}",
    )


def test_links_follow_new_types() -> None:
    producers, links = find_links(library(buggy=False).operation_plans)
    assert {(p.operation, p.fields) for p in producers} == {
        ("POST /books", (("id", BookId),)),
        ("POST /loans", (("id", LoanId), ("book_id", BookId))),
    }
    assert {(link.operation, link.parameter, link.body_field, link.key) for link in links} == {
        ("GET /books/{book_id}", "book_id", None, BookId),
        ("POST /loans", "body", "book_id", BookId),
        ("GET /loans/{loan_id}", "loan_id", None, LoanId),
        ("DELETE /loans/{loan_id}", "loan_id", None, LoanId),
    }


def test_links_by_name_need_matching_types() -> None:
    @attrs.frozen
    class Todo:
        id: int
        title: str

    class Todos(HTTPEndpoint):
        @status_code(201)
        async def post(self) -> Todo:
            return Todo(1, "x")

    class TodoItem(HTTPEndpoint):
        @raises(404)
        async def get(self, todo_id: int) -> Todo:
            return Todo(todo_id, "x")

    class Named(HTTPEndpoint):
        @raises(404)
        async def get(self, todo_id: str) -> Todo:
            return Todo(1, todo_id)

    app = App(
        routes=[
            Route("/todos", Todos),
            Route("/todos/{todo_id:int}", TodoItem),
            Route("/n/{todo_id}", Named),
        ]
    )
    _, links = find_links(app.operation_plans)
    assert [(link.operation, link.key) for link in links] == [
        ("GET /todos/{todo_id}", ("todo_id", int))
    ]


def test_a_bug_at_the_end_of_a_chain_is_found_with_its_sequence() -> None:
    report = fuzz(library(buggy=True), max_examples=60, seed=1, database=None)
    (failure,) = report.failures
    assert (failure.operation, failure.check) == ("GET /books/{book_id}", "not_a_server_error")
    assert "KeyError" in failure.message
    operations = [step.case.operation for step in failure.steps]
    assert operations[0] == "POST /books"
    assert "POST /loans" in operations
    assert "DELETE /loans/{loan_id}" in operations
    assert operations[-1] == "GET /books/{book_id}"


def test_the_fixed_library_is_clean() -> None:
    report = fuzz(library(buggy=False), max_examples=60, seed=1, database=None)
    assert report.ok, str(report)


def test_a_handler_that_may_answer_its_own_response_is_not_held_to_json() -> None:
    @attrs.frozen
    class Page:
        title: str

    class Pages(HTTPEndpoint):
        async def get(self, html: bool = False) -> Page | HTMLResponse:
            return HTMLResponse("<h1>hi</h1>") if html else Page("hi")

    report = fuzz(App(routes=[Route("/page", Pages)]), max_examples=20, seed=1, database=None)
    assert report.ok, str(report)
