// The case board: columns of cards with drag and drop (@hello-pangea/dnd) and a Move menu on
// every card (the keyboard and single-pointer alternative, WCAG 2.2 SC 2.5.7).
//
// The component keeps its own copy of the columns and applies a move at once (no snap-back
// flicker), then sends ONE event, onMove(reference, toStage, version). The server decides and
// answers by bumping `revision` (and sending the changed columns, or for a move made only the
// moved card: `moved`, applied to the server's columns here by withServerMove); whenever
// `revision` or the server's columns change, the local copy is replaced by the server's, so a
// refused move goes back.
// Other people's changes arrive pushed by the server (BoardState.listen): no polling here.
//
// Layout (assets/styles.css "The case board"): every column fits the screen's width at
// 1280 px and is as tall as the space left under the page's header, scrolling on its own under
// a sticky header; its card list fills it, so the whole column is a drop target. Cards show
// three lines (reference, child, risk/officer/due); the rest opens with each card's Details
// button. A refused move's reason shows on the card (as well as in #board-announcement).
import { useCallback, useEffect, useLayoutEffect, useRef, useState } from "react";
import { DragDropContext, Draggable, Droppable } from "@hello-pangea/dnd";

const CLOSED = "closed";
const PENDING_TIMEOUT_MS = 15000;

// A card's place by risk in an open column: Red, Amber, not rated, Green (the server's
// card_rank in services/casework/board.py). A moved case has just entered its stage, so it
// goes last among its risk: where the server will put it, so it never jumps on the answer.
function cardRank(card) {
  return { red: 0, amber: 1, "": 2 }[card.risk ?? ""] ?? 3;
}

function sortedIndex(cards, card) {
  const at = cards.findIndex((c) => cardRank(c) > cardRank(card));
  return at < 0 ? cards.length : at;
}

function withCardMoved(columns, reference, toStage) {
  let card = null;
  const without = columns.map((column) => {
    const i = column.cards.findIndex((c) => c.reference === reference);
    if (i < 0) return column;
    card = column.cards[i];
    return {
      ...column,
      count: Math.max(0, column.count - 1),
      cards: column.cards.filter((_, j) => j !== i),
    };
  });
  if (card === null) return columns;
  return without.map((column) => {
    if (column.stage !== toStage) return column;
    const cards = [...column.cards];
    cards.splice(sortedIndex(cards, card), 0, { ...card, moves: [], pending: true });
    return { ...column, count: column.count + 1, cards };
  });
}

// The server's answer to a move: the moved card, its old and new stage, its place in the new
// column and both counts (services/casework/board.py BoardMove). No other card comes with it.
function withServerMove(columns, moved) {
  if (!moved || !moved.card) return columns;
  const ref = moved.card.reference;
  return columns.map((column) => {
    if (column.stage === moved.from_stage && column.stage !== moved.to_stage) {
      return {
        ...column,
        count: moved.from_count,
        cards: column.cards.filter((c) => c.reference !== ref),
      };
    }
    if (column.stage === moved.to_stage) {
      const cards = column.cards.filter((c) => c.reference !== ref);
      cards.splice(Math.min(moved.index, cards.length), 0, moved.card);
      return { ...column, count: moved.to_count, cards };
    }
    return column;
  });
}

function findCard(columns, reference) {
  for (const column of columns) {
    const card = column.cards.find((c) => c.reference === reference);
    if (card) return { column, card };
  }
  return null;
}

function dueClass(state) {
  if (state === "overdue") return "tag tag--red";
  if (state === "today") return "tag tag--orange";
  return "tag tag--grey";
}

// The due badge's short form on the card ("Due 3 Dec"); the full label ("First visit due
// 3 Dec") is read out with it and shows in the card's details.
function dueShort(card) {
  if (card.due_state === "overdue") return "Overdue";
  if (card.due_state === "today") return "Due today";
  const on = card.due_label.split(" due ")[1];
  return on ? `Due ${on}` : card.due_label;
}

function initials(name) {
  if (name.includes("@")) return name.slice(0, 2).toUpperCase();
  const words = name.split(/\s+/).filter(Boolean);
  if (words.length === 0) return "";
  const last = words.length > 1 ? words[words.length - 1][0] : "";
  return (words[0][0] + last).toUpperCase();
}

function MoveMenu({ card, labels, closeLabel, onChoose, openMenu, setOpenMenu }) {
  const open = openMenu === card.reference;
  const setOpen = (value) => setOpenMenu(value ? card.reference : null);
  const buttonRef = useRef(null);
  const menuRef = useRef(null);
  const menuId = `move-menu-${card.reference}`;

  useEffect(() => {
    if (open) menuRef.current?.querySelector("button, a")?.focus();
  }, [open]);

  const close = (returnFocus) => {
    setOpen(false);
    if (returnFocus) buttonRef.current?.focus();
  };

  return (
    <div
      className="move"
      onKeyDown={(e) => {
        if (open && e.key === "Escape") {
          e.stopPropagation();
          close(true);
        }
      }}
      onBlur={(e) => {
        if (open && !e.currentTarget.contains(e.relatedTarget)) setOpen(false);
      }}
    >
      <button
        ref={buttonRef}
        type="button"
        className="move__button"
        aria-expanded={open ? "true" : "false"}
        aria-controls={menuId}
        data-move-for={card.reference}
        onClick={() => setOpen(!open)}
      >
        Move<span className="visually-hidden"> {card.reference}</span>
      </button>
      {open && (
        <div id={menuId} className="move__menu" ref={menuRef}>
          <p className="move__title" id={`${menuId}-title`}>
            Move {card.reference} to
          </p>
          <ul className="move__list" aria-labelledby={`${menuId}-title`}>
            {card.moves.map((stage) => (
              <li key={stage}>
                <button
                  type="button"
                  className="move__option"
                  onClick={() => {
                    setOpen(false);
                    onChoose(card, stage);
                  }}
                >
                  {labels[stage] ?? stage}
                </button>
              </li>
            ))}
            <li>
              <a className="move__option move__option--close" href={`/cases/${card.reference}#close`}>
                {closeLabel}
              </a>
            </li>
          </ul>
          {card.pending && <p className="move__note">Saving the last move…</p>}
          {!card.pending && card.moves.length === 0 && card.moves_note && (
            <p className="move__note">{card.moves_note}</p>
          )}
        </div>
      )}
    </div>
  );
}

function CardBody({ card, expanded, onToggle }) {
  const riskClass = `tag risk risk--${card.risk || "none"}`;
  const detailsId = `card-details-${card.reference}`;
  const flagged = card.possible_match || card.closure_proposed;
  return (
    <>
      <a className="card__ref" href={`/cases/${card.reference}`}>
        {card.reference}
      </a>
      <p className="card__child">
        <span className="card__name" title={card.child_name}>
          {card.child_name}
        </span>
        <span className="card__age">
          , <span className="visually-hidden">age </span>
          {card.age}
        </span>
        <button
          type="button"
          className={`card__toggle${flagged ? " card__toggle--flagged" : ""}`}
          aria-expanded={expanded ? "true" : "false"}
          aria-controls={detailsId}
          onClick={onToggle}
        >
          <span className="visually-hidden">Details for {card.reference}</span>
        </button>
      </p>
      <p className="card__meta">
        <strong className={riskClass}>{card.risk_label}</strong>
        {card.officer === "Unallocated" ? (
          <em className="card__officer">Unallocated</em>
        ) : (
          <span className="card__officer" title={card.officer}>
            <span aria-hidden="true">{initials(card.officer)}</span>
            <span className="visually-hidden">Officer: {card.officer}</span>
          </span>
        )}
        {card.due_label && (
          <strong className={`${dueClass(card.due_state)} card__due`} title={card.due_label}>
            <span aria-hidden="true">{dueShort(card)}</span>
            <span className="visually-hidden">{card.due_label}</span>
          </strong>
        )}
        {card.pending && <span className="card__saving">Saving…</span>}
      </p>
      <div className="card__details" id={detailsId} hidden={!expanded}>
        <p>{card.origin}</p>
        {card.factors && <p className="card__factors">{card.factors}</p>}
        <p>{card.officer === "Unallocated" ? "Unallocated" : <>Officer: {card.officer}</>}</p>
        <p>{card.in_stage}</p>
        {card.due_label && <p>{card.due_label}</p>}
        {flagged && (
          <p className="card__tags">
            {card.possible_match && <strong className="tag tag--yellow">Possible match</strong>}
            {card.closure_proposed && <strong className="tag">Closure proposed</strong>}
          </p>
        )}
      </div>
    </>
  );
}

function Card({ card, index, stage, canMove, labels, closeLabel, onChoose, menu, refusal }) {
  const draggable = canMove && stage !== CLOSED && !card.pending;
  const [expanded, setExpanded] = useState(false);
  return (
    <Draggable draggableId={card.reference} index={index} isDragDisabled={!draggable}>
      {(provided, snapshot) => {
        // The whole card is the drag handle, but stays a list item: pangea's role="button"
        // would hide the card's text and nest the Move button inside a button.
        const { role: _role, ...handle } = provided.dragHandleProps ?? {};
        return (
          <li
            ref={provided.innerRef}
            {...provided.draggableProps}
            {...(draggable ? handle : {})}
            className={[
              "card",
              `card--${card.risk || "none"}`,
              snapshot.isDragging ? "card--dragging" : "",
              card.pending ? "card--pending" : "",
            ].join(" ")}
          >
            <CardBody card={card} expanded={expanded} onToggle={() => setExpanded(!expanded)} />
            {refusal && <p className="card__refusal">{refusal}</p>}
            {canMove && stage !== CLOSED && (
              <MoveMenu
                card={card}
                labels={labels}
                closeLabel={closeLabel}
                onChoose={onChoose}
                {...menu}
              />
            )}
          </li>
        );
      }}
    </Draggable>
  );
}

// How each column is sorted (services/casework/board.py _card_rows), shown under its name: a
// moved card takes its place in this order, not where it was dropped.
const SORT_OPEN = "Red first, longest waiting";
const SORT_CLOSED = "Recently closed, latest first";

function Column({ column, canMove, labels, closeLabel, onChoose, onShowMore, menu, refusal }) {
  const headingId = `stage-${column.stage}`;
  const hidden = column.count - column.cards.length;
  const refusedHere = refusal && refusal.stage === column.stage;
  const onCard = refusedHere && column.cards.some((c) => c.reference === refusal.reference);
  return (
    <section className={`board-col board-col--${column.stage}`} id={`board-col-${column.stage}`}>
      <div className="board-col__head">
        <h2 className="board-col__title">
          <span id={headingId}>{column.label}</span>
          <span className="board-col__count">
            {column.count}
            <span className="visually-hidden"> {column.count === 1 ? "case" : "cases"}</span>
          </span>
        </h2>
        <p className="board-col__sort">{column.stage === CLOSED ? SORT_CLOSED : SORT_OPEN}</p>
      </div>
      {refusedHere && !onCard && <p className="card__refusal">{refusal.text}</p>}
      {column.count === 0 && <p className="board-col__empty">No cases</p>}
      <Droppable droppableId={column.stage} isDropDisabled={!canMove}>
        {(provided, snapshot) => (
          <ul
            ref={provided.innerRef}
            {...provided.droppableProps}
            aria-labelledby={headingId}
            className={`board-col__list${snapshot.isDraggingOver ? " board-col__list--over" : ""}`}
          >
            {column.cards.map((card, index) => (
              <Card
                key={card.reference}
                card={card}
                index={index}
                stage={column.stage}
                canMove={canMove}
                labels={labels}
                closeLabel={closeLabel}
                onChoose={onChoose}
                menu={menu}
                refusal={onCard && card.reference === refusal.reference ? refusal.text : null}
              />
            ))}
            {provided.placeholder}
          </ul>
        )}
      </Droppable>
      {hidden > 0 && (
        <div className="board-col__more">
          <p className="board-col__shown">
            Showing {column.cards.length} of {column.count}
          </p>
          <button type="button" className="board-col__more-button" onClick={() => onShowMore(column.stage)}>
            Show more<span className="visually-hidden"> in {column.label}</span>
          </button>
        </div>
      )}
    </section>
  );
}

export function CaseBoard({
  columns: sentColumns,
  revision,
  moved,
  notice,
  noticeError,
  noticeId,
  canMove,
  closeLabel,
  labels,
  onMove,
  onShowMore,
  onReload,
  ref: _ref, // React 19 passes ref as a prop; keep it off the DOM and off pangea
  ...rest
}) {
  // The server's columns: each column as last sent whole, with the move answers since applied.
  const server = useRef({ sent: sentColumns, moved, columns: sentColumns });
  {
    const s = server.current;
    let next = s.columns;
    if (
      sentColumns.length !== s.sent.length ||
      sentColumns.some((column, i) => column !== s.sent[i])
    ) {
      next =
        sentColumns.length !== s.sent.length
          ? sentColumns
          : sentColumns.map((column, i) => (column !== s.sent[i] ? column : next[i]));
    }
    if (moved !== s.moved) next = withServerMove(next, moved);
    server.current = { sent: sentColumns, moved, columns: next };
  }
  const columns = server.current.columns;
  const [local, setLocal] = useState(columns);
  const seen = useRef({ revision, columns });
  const dragging = useRef(false);
  const pending = useRef(0);
  const [openMenu, setOpenMenu] = useState(null);
  const focusAfter = useRef(null);
  const callbacks = useRef({});
  callbacks.current = { onMove, onShowMore, onReload };
  // The move sent last and not yet answered, and a refusal to show on its card.
  const awaiting = useRef(null);
  const [refusal, setRefusal] = useState(null);
  const boardRef = useRef(null);

  // The server's answer to a move comes with a new notice (#board-announcement says it too).
  // A refusal is also written on the card, where the person's eyes are, or at the top of the
  // column it came from when the card is no longer on this board.
  const seenNotice = useRef(noticeId);
  useEffect(() => {
    if (noticeId === seenNotice.current) return;
    seenNotice.current = noticeId;
    const sent = awaiting.current;
    awaiting.current = null;
    if (!sent) return;
    setRefusal(noticeError && notice ? { ...sent, text: notice } : null);
  }, [noticeId, notice, noticeError]);

  // The board takes the height left under the page's header, so every column scrolls on its
  // own and the page itself hardly does (--board-top: the board's distance from the page top).
  useLayoutEffect(() => {
    const board = boardRef.current;
    if (!board) return undefined;
    let frame = 0;
    const place = () => {
      frame = 0;
      const top = `${Math.round(board.getBoundingClientRect().top + window.scrollY)}px`;
      if (board.style.getPropertyValue("--board-top") !== top) {
        board.style.setProperty("--board-top", top);
      }
    };
    place();
    // In the next frame, not in the observer's callback: the board's new height resizes the body.
    const later = () => {
      if (!frame) frame = window.requestAnimationFrame(place);
    };
    const observer = new ResizeObserver(later);
    observer.observe(document.body);
    window.addEventListener("resize", later);
    return () => {
      observer.disconnect();
      window.removeEventListener("resize", later);
      if (frame) window.cancelAnimationFrame(frame);
    };
  }, []);

  // Every answer raises the revision; back at 0, the server has lost this tab's state (Redis
  // restarted empty) and answered from a fresh, empty one: ask for the board again.
  const lastRevision = useRef(revision);
  useEffect(() => {
    if (revision === 0 && lastRevision.current > 0) callbacks.current.onReload?.();
    lastRevision.current = revision;
  }, [revision]);

  // The server answered (or another user's change arrived): adopt its columns. Never in the
  // middle of a drag, nor under an open Move menu (a pushed change would pull the card from
  // under it); the drop handler starts from the latest columns instead, and closing the menu
  // re-renders, which adopts them.
  // Nor while this tab's own move is unanswered: a colleague's change pushed meanwhile would
  // put the card back where it was until the answer came (the answer brings a new notice).
  const changed =
    revision !== seen.current.revision ||
    columns.length !== seen.current.columns.length ||
    columns.some((column, i) => column !== seen.current.columns[i]);
  const ownMoveUnanswered =
    pending.current > 0 &&
    Date.now() - pending.current < PENDING_TIMEOUT_MS &&
    noticeId === seenNotice.current;
  if (changed && !dragging.current && !openMenu && !ownMoveUnanswered) {
    seen.current = { revision, columns };
    pending.current = 0;
    setLocal(columns);
  }

  // Put focus back on the Move button of a card that was moved with the keyboard (its list
  // item is remounted in another column), unless the user has gone elsewhere.
  useEffect(() => {
    const reference = focusAfter.current;
    if (!reference) return;
    const active = document.activeElement;
    if (active && active !== document.body) {
      if (active.getAttribute("data-move-for") === reference) focusAfter.current = null;
      return;
    }
    document.querySelector(`[data-move-for="${CSS.escape(reference)}"]`)?.focus();
  });

  const move = useCallback((card, toStage) => {
    const from = findCard(local, card.reference);
    awaiting.current = { reference: card.reference, stage: from ? from.column.stage : null };
    setRefusal(null);
    if (toStage === CLOSED) {
      // Closing needs an outcome and evidence: the server sends the user to the case page.
      callbacks.current.onMove?.(card.reference, CLOSED, card.version);
      return;
    }
    pending.current = Date.now();
    setLocal((current) => withCardMoved(current, card.reference, toStage));
    callbacks.current.onMove?.(card.reference, toStage, card.version);
  }, [local]);

  const choose = useCallback(
    (card, toStage) => {
      focusAfter.current = card.reference;
      move(card, toStage);
    },
    [move],
  );

  const label = (stage) => labels?.[stage] ?? stage;
  // The refused card may now be in another column (a colleague moved it first): show it there.
  const refusedCard = refusal && findCard(local, refusal.reference);
  const shownRefusal = refusal && {
    ...refusal,
    stage: refusedCard ? refusedCard.column.stage : refusal.stage,
  };

  return (
    <DragDropContext
      dragHandleUsageInstructions={
        "Press space to pick up this case. Use the left and right arrow keys to move it " +
        "between stages, then press space to drop it, or escape to cancel. You can also use " +
        "its Move button."
      }
      onDragStart={(start, provided) => {
        dragging.current = true;
        provided.announce(
          `Picked up ${start.draggableId} from ${label(start.source.droppableId)}. ` +
            "Use the arrow keys to choose a stage, space to drop, escape to cancel.",
        );
      }}
      onDragUpdate={(update, provided) => {
        if (update.destination) {
          provided.announce(`${update.draggableId} over ${label(update.destination.droppableId)}.`);
        } else {
          provided.announce(`${update.draggableId} is not over a stage.`);
        }
      }}
      onDragEnd={(result, provided) => {
        dragging.current = false;
        const { destination, source, draggableId } = result;
        // Start from the server's latest columns if they arrived during the drag.
        const latest = seen.current.columns !== columns ? columns : null;
        if (latest) {
          seen.current = { revision, columns };
          setLocal(columns);
        }
        if (!destination || destination.droppableId === source.droppableId) {
          provided.announce(`${draggableId} was not moved.`);
          return;
        }
        const found = findCard(latest ?? local, draggableId);
        if (!found) return;
        provided.announce(`${draggableId} dropped on ${label(destination.droppableId)}.`);
        move(found.card, destination.droppableId);
      }}
    >
      <nav className="board-stages" aria-label="Stages">
        <ul>
          {local.map((column) => (
            <li key={column.stage}>
              <a href={`#board-col-${column.stage}`}>
                {column.label} <span className="board-stages__count">{column.count}</span>
              </a>
            </li>
          ))}
        </ul>
      </nav>
      <div
        {...rest}
        ref={boardRef}
        className="board"
        role="region"
        aria-label="Case board"
        tabIndex={0}
      >
        {local.map((column) => (
          <Column
            key={column.stage}
            column={column}
            canMove={!!canMove}
            labels={labels ?? {}}
            closeLabel={closeLabel}
            onChoose={choose}
            onShowMore={(stage) => callbacks.current.onShowMore?.(stage)}
            menu={{ openMenu, setOpenMenu }}
            refusal={shownRefusal}
          />
        ))}
      </div>
    </DragDropContext>
  );
}
