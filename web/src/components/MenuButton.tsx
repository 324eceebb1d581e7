import { useEffect, useId, useRef, useState, type KeyboardEvent, type ReactNode } from "react";
import "./MenuButton.css";

export interface MenuItem {
  /** Stable key. */
  id: string;
  label: string;
  /** The choice in use now: marked with a check (and "in use" for screen readers). */
  current?: boolean;
  disabled?: boolean;
  onSelect: () => void;
}

/** The menu's width (`.menu`'s min-width, 14rem, and some room). */
const MENU_WIDTH_PX = 240;

/** The height of one item (`.menu-item`'s min-height and a little). */
const ITEM_HEIGHT_PX = 42;

/**
 * Where the menu opens: leftwards when opening at the button's left edge
 * would pass the window's right edge (no sideways scrolling on phones), and
 * upwards when there is no room below the button but more above it.
 */
function placement(wrap: HTMLElement | null, count: number): { end: boolean; up: boolean } {
  if (!wrap) return { end: false, up: false };
  const rect = wrap.getBoundingClientRect();
  const below = window.innerHeight - rect.bottom;
  const height = count * ITEM_HEIGHT_PX + 16;
  return { end: rect.left + MENU_WIDTH_PX > window.innerWidth, up: below < height && rect.top > below };
}

/**
 * A button that opens a menu (the WAI-ARIA menu button pattern): Enter,
 * Space or Arrow Down opens it on the first item, Arrow Up on the last;
 * arrows, Home and End move, Escape closes it and focus returns to the
 * button, Tab leaves it. Choosing an item closes the menu and puts focus
 * back on the button first, so a dialog the item opens returns focus there.
 */
export function MenuButton({
  label,
  items,
  disabled,
  className = "btn btn-secondary btn-small",
}: {
  label: ReactNode;
  items: MenuItem[];
  disabled?: boolean;
  className?: string;
}) {
  const id = useId();
  const buttonRef = useRef<HTMLButtonElement>(null);
  const menuRef = useRef<HTMLUListElement>(null);
  const wrapRef = useRef<HTMLSpanElement>(null);
  const [open, setOpen] = useState(false);
  const [active, setActive] = useState(0);
  // Bumped by every opening, so focus moves into the menu even when it was open already.
  const [opened, setOpened] = useState(0);
  const [place, setPlace] = useState({ end: false, up: false });

  const enabled = items.map((item, i) => (item.disabled ? -1 : i)).filter((i) => i >= 0);

  useEffect(() => {
    if (!open) return;
    menuRef.current?.querySelectorAll<HTMLElement>('[role="menuitem"]')[active]?.focus();
  }, [open, active, opened]);

  useEffect(() => {
    if (!open) return;
    const outside = (e: MouseEvent) => {
      if (!wrapRef.current?.contains(e.target as Node)) setOpen(false);
    };
    const replace = () => setPlace(placement(wrapRef.current, items.length));
    document.addEventListener("mousedown", outside);
    window.addEventListener("resize", replace);
    return () => {
      document.removeEventListener("mousedown", outside);
      window.removeEventListener("resize", replace);
    };
  }, [open, items.length]);

  useEffect(() => {
    if (disabled) setOpen(false);
  }, [disabled]);

  function show(at: "first" | "last") {
    if (enabled.length === 0) return;
    setActive((at === "first" ? enabled[0] : enabled[enabled.length - 1]) as number);
    setPlace(placement(wrapRef.current, items.length));
    setOpen(true);
    setOpened((n) => n + 1);
  }

  function close(refocus = true) {
    setOpen(false);
    if (refocus) buttonRef.current?.focus();
  }

  function onButtonKey(e: KeyboardEvent) {
    if (e.key === "ArrowDown" || e.key === "Enter" || e.key === " ") {
      e.preventDefault();
      show("first");
    } else if (e.key === "ArrowUp") {
      e.preventDefault();
      show("last");
    }
  }

  function move(by: 1 | -1) {
    const at = enabled.indexOf(active);
    setActive(enabled[(at + by + enabled.length) % enabled.length] as number);
  }

  function onMenuKey(e: KeyboardEvent) {
    switch (e.key) {
      case "ArrowDown":
        e.preventDefault();
        move(1);
        break;
      case "ArrowUp":
        e.preventDefault();
        move(-1);
        break;
      case "Home":
        e.preventDefault();
        setActive(enabled[0] as number);
        break;
      case "End":
        e.preventDefault();
        setActive(enabled[enabled.length - 1] as number);
        break;
      case "Escape":
        e.preventDefault();
        e.stopPropagation();
        close();
        break;
      case "Tab":
        close(false);
        break;
      default:
        // Type-ahead: the next item starting with that letter.
        if (e.key.length === 1 && /\S/.test(e.key)) {
          const start = enabled.indexOf(active);
          const order = [...enabled.slice(start + 1), ...enabled.slice(0, start + 1)];
          const hit = order.find((i) => items[i]?.label.toLowerCase().startsWith(e.key.toLowerCase()));
          if (hit !== undefined) setActive(hit);
        }
    }
  }

  function choose(item: MenuItem) {
    if (item.disabled) return;
    close();
    item.onSelect();
  }

  return (
    <span className="menu-button" ref={wrapRef}>
      <button
        type="button"
        id={`${id}-button`}
        ref={buttonRef}
        className={className}
        aria-haspopup="menu"
        aria-expanded={open}
        aria-controls={open ? `${id}-menu` : undefined}
        disabled={disabled}
        onClick={() => (open ? close() : show("first"))}
        onKeyDown={onButtonKey}
      >
        {label}
        <span className="menu-caret" aria-hidden="true">
          ▾
        </span>
      </button>
      {open ? (
        <ul id={`${id}-menu`} ref={menuRef} role="menu" aria-labelledby={`${id}-button`} className={`menu${place.end ? " menu-end" : ""}${place.up ? " menu-up" : ""}`} onKeyDown={onMenuKey}>
          {items.map((item, i) => (
            <li key={item.id} role="none">
              <button
                type="button"
                role="menuitem"
                tabIndex={i === active ? 0 : -1}
                className="menu-item"
                aria-disabled={item.disabled ? true : undefined}
                onClick={() => choose(item)}
                onMouseEnter={() => !item.disabled && setActive(i)}
              >
                <span className="menu-check" aria-hidden="true">
                  {item.current ? "✓" : ""}
                </span>
                {item.label}
                {item.current ? <span className="sr-only"> (in use)</span> : null}
              </button>
            </li>
          ))}
        </ul>
      ) : null}
    </span>
  );
}
