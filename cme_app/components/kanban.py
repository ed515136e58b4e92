"""The case board's drag-and-drop component: a local JSX wrapper round @hello-pangea/dnd.

The JSX (assets/board.jsx) owns everything that happens between a pick-up and a drop, applies
a drop at once, and sends one coarse event per intent; see its header comment.
"""

from __future__ import annotations

from typing import Any

import reflex as rx
from reflex.event import no_args_event_spec, passthrough_event_spec

BOARD_JSX = rx.asset("board.jsx")


class CaseBoard(rx.Component):
    library = BOARD_JSX.importable_path
    tag = "CaseBoard"
    lib_dependencies: list[str] = ["@hello-pangea/dnd@18.0.1"]

    columns: rx.Var[list]
    revision: rx.Var[int]
    # The last move's answer (services.casework.board.BoardMove): the moved card only.
    moved: rx.Var[Any]
    # The last answer's words (#board-announcement's), and whether it refused: a refused
    # move's reason is also shown on the card.
    notice: rx.Var[str]
    notice_error: rx.Var[bool]
    notice_id: rx.Var[int]
    can_move: rx.Var[bool]
    close_label: rx.Var[str]
    labels: rx.Var[dict[str, str]]

    # (reference, to_stage, version): one event per move the user makes.
    on_move: rx.EventHandler[passthrough_event_spec(str, str, int)]
    # (stage): show more cards in one column.
    on_show_more: rx.EventHandler[passthrough_event_spec(str)]
    # The server lost this tab's state (Redis restarted empty) and answers from a fresh one:
    # load the board again (which also starts its live updates again).
    on_reload: rx.EventHandler[no_args_event_spec]


case_board = CaseBoard.create
