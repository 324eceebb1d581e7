import { useRef, useState, type DragEvent, type ReactNode } from "react";
import { firstFile } from "../lib/upload";

/**
 * A file button: a real `<input type="file">` (keyboard and screen readers
 * reach it, its name is the label) drawn as the label, a button.
 */
export function FilePicker({
  id,
  label,
  onFile,
  accept = "image/*,video/*",
  disabled,
  variant = "btn-secondary",
  describedBy,
}: {
  id: string;
  label: ReactNode;
  onFile: (file: File) => void;
  accept?: string;
  disabled?: boolean;
  variant?: string;
  describedBy?: string;
}) {
  return (
    <span className="file-pick">
      <input
        id={id}
        type="file"
        className="file-pick-input"
        accept={accept}
        disabled={disabled}
        aria-describedby={describedBy}
        onChange={(e) => {
          const file = firstFile(e.target.files);
          // The same file chosen again is a new choice.
          e.target.value = "";
          if (file) onFile(file);
        }}
      />
      <label htmlFor={id} className={`btn ${variant}`} aria-disabled={disabled ? "true" : undefined}>
        {label}
      </label>
    </span>
  );
}

const hasFiles = (e: DragEvent) => Array.from(e.dataTransfer?.types ?? []).includes("Files");

/** Drag-and-drop of one file onto an element: spread `handlers` on it, style it by `dragging`. */
export function useFileDrop(onFile: (file: File) => void, disabled = false) {
  const [dragging, setDragging] = useState(false);
  // dragenter/dragleave fire for every child crossed: count them.
  const depth = useRef(0);
  const handlers = {
    onDragEnter: (e: DragEvent) => {
      if (disabled || !hasFiles(e)) return;
      e.preventDefault();
      depth.current += 1;
      setDragging(true);
    },
    onDragOver: (e: DragEvent) => {
      if (disabled || !hasFiles(e)) return;
      e.preventDefault();
      e.dataTransfer.dropEffect = "copy";
    },
    onDragLeave: (e: DragEvent) => {
      if (disabled || !hasFiles(e)) return;
      depth.current = Math.max(0, depth.current - 1);
      if (depth.current === 0) setDragging(false);
    },
    onDrop: (e: DragEvent) => {
      if (disabled) return;
      e.preventDefault();
      depth.current = 0;
      setDragging(false);
      const file = firstFile(e.dataTransfer?.files);
      if (file) onFile(file);
    },
  };
  return { dragging, handlers };
}
