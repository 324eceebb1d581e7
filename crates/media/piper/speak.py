"""Reelforge's Piper child: loads one voice once, then speaks a request a line.

Run by crates/media/src/piper.rs (embedded in the binary, run with
`python -I -c <this file> MODEL IDLE_SECONDS [THREADS]`), never by hand:

- MODEL is a Piper `.onnx` voice (its `.onnx.json` beside it), chosen by the
  server from installed voices, never taken from a request.
- THREADS is onnxruntime's thread count (default 1: the server runs a child
  per concurrent step, and one thread each halves the CPU time per second of
  speech against onnxruntime's default of one per core on two cores).
- It loads the voice (with alignments when the onnx package is there) and
  answers one line: {"ready": true, "sample_rate": 22050}.
- Then for each JSON line on stdin, {"text": "...", "out": "/abs/path.wav"},
  it writes the speech as a 16-bit mono WAV to `out` and answers one line:
  {"ok": true, "sample_rate": R, "samples": N,
   "phonemes": [["h", 768], ...] or null}
  where each phoneme carries its samples (they add up to N; `" "` separates
  words, "^"/"$" are the sentence's start and end) and null means the voice
  could not align this text. A failure answers {"ok": false, "error": "..."}.
- It exits on end of input (the server closed it or died) or after
  IDLE_SECONDS without a request.

Only this line protocol goes to stdout; everything else (warnings, logs, C
libraries) goes to stderr.
"""

import json
import os
import select
import sys
import wave


def main() -> int:
    # The protocol gets the real stdout; anything else printing lands on stderr.
    protocol = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr

    def answer(message: dict) -> None:
        protocol.write(json.dumps(message, ensure_ascii=False) + "\n")
        protocol.flush()

    if len(sys.argv) < 3:
        answer({"ok": False, "error": "usage: speak.py MODEL IDLE_SECONDS"})
        return 2
    model, idle_seconds = sys.argv[1], float(sys.argv[2])
    threads = int(sys.argv[3]) if len(sys.argv) > 3 else 1

    try:
        import onnxruntime

        if threads > 0:
            default_options = onnxruntime.SessionOptions

            def session_options():
                options = default_options()
                options.intra_op_num_threads = threads
                options.inter_op_num_threads = 1
                return options

            # PiperVoice.load builds its own SessionOptions; this sets its threads.
            onnxruntime.SessionOptions = session_options

        from piper import PiperVoice

        try:
            voice = PiperVoice.load(model, include_alignments=True)
        except TypeError:  # a piper-tts without alignments
            voice = PiperVoice.load(model)
    except Exception as error:  # noqa: BLE001 - any load failure is reported
        answer({"ok": False, "error": f"loading the voice failed: {type(error).__name__}: {error}"})
        return 1
    answer({"ready": True, "sample_rate": voice.config.sample_rate})

    stdin = sys.stdin.buffer
    while True:
        ready, _, _ = select.select([stdin], [], [], idle_seconds)
        if not ready:
            return 0  # idle too long: the server starts another when needed
        line = stdin.readline()
        if not line:
            return 0  # end of input
        try:
            request = json.loads(line)
            text, out = request["text"], request["out"]
            if not isinstance(text, str) or not isinstance(out, str) or not os.path.isabs(out):
                raise ValueError("a request needs text and an absolute out path")
            answer(speak(voice, text, out))
        except Exception as error:  # noqa: BLE001 - reported, the server drops this child
            answer({"ok": False, "error": f"{type(error).__name__}: {error}"})


def speak(voice, text: str, out: str) -> dict:
    rate = voice.config.sample_rate
    audio = bytearray()
    phonemes = []
    aligned = True
    try:
        chunks = voice.synthesize(text, include_alignments=True)
    except TypeError:
        chunks = voice.synthesize(text)
    for chunk in chunks:
        rate = chunk.sample_rate
        data = chunk.audio_int16_bytes
        alignments = getattr(chunk, "phoneme_alignments", None)
        if alignments is None:
            aligned = False
        else:
            counted = sum(int(a.num_samples) for a in alignments)
            if counted != len(data) // 2:
                aligned = False
            phonemes.extend([a.phoneme, int(a.num_samples)] for a in alignments)
        audio.extend(data)
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(bytes(audio))
    return {
        "ok": True,
        "sample_rate": rate,
        "samples": len(audio) // 2,
        "phonemes": phonemes if aligned else None,
    }


if __name__ == "__main__":
    sys.exit(main())
