// Calls onTick every `ms` while the tab is visible, and once when it becomes visible again.
// Renders nothing. The page decides what a tick asks the server.
import { useEffect, useRef } from "react";

export function Every({ ms, onTick }) {
  const tick = useRef(onTick);
  tick.current = onTick;
  useEffect(() => {
    if (!ms) return undefined;
    const run = () => document.visibilityState === "visible" && tick.current?.();
    const timer = window.setInterval(run, ms);
    document.addEventListener("visibilitychange", run);
    return () => {
      window.clearInterval(timer);
      document.removeEventListener("visibilitychange", run);
    };
  }, [ms]);
  return null;
}
