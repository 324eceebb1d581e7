"""Reelforge's Piper child: loads one voice once, then speaks a request a line.

Run by crates/media/src/piper.rs (embedded in the binary, run with
`python -I -c <this file> MODEL IDLE_SECONDS [THREADS [CACHE_DIR]]`), never by
hand:

- MODEL is a Piper `.onnx` voice (its `.onnx.json` beside it), chosen by the
  server from installed voices, never taken from a request.
- THREADS is onnxruntime's thread count (default 1: the server runs a child
  per concurrent step, and one thread each halves the CPU time per second of
  speech against onnxruntime's default of one per core on two cores).
- CACHE_DIR (optional, the server's `DATA_DIR/cache/voices`) keeps each voice
  prepared: patched for alignments and optimised by onnxruntime, saved once
  (written aside, then renamed into place). Loading that copy takes 0.15
  CPU-s instead of 2.2 (patching the model in memory, then optimising it, on
  every start); a copy that does not load is rebuilt. Without it, or when the
  directory cannot be written, the voice is prepared in memory as before.
- It loads the voice (with alignments when the onnx package is there) and
  answers one line: {"ready": true, "sample_rate": 22050, "cache": C}, C
  being "hit" (loaded from CACHE_DIR), "stored" (prepared and saved there)
  or "off" (prepared in memory).
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
import re
import select
import sys
import time
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
    cache_dir = sys.argv[4] if len(sys.argv) > 4 and sys.argv[4] else None

    try:
        import onnxruntime

        if threads > 0:
            default_options = onnxruntime.SessionOptions

            def session_options():
                options = default_options()
                options.intra_op_num_threads = threads
                options.inter_op_num_threads = 1
                return options

            # Every session of this child gets these threads: PiperVoice.load
            # builds its own SessionOptions, and so does load_prepared.
            onnxruntime.SessionOptions = session_options

        voice, cache = None, "off"
        if cache_dir:
            try:
                voice, cache = load_prepared(model, cache_dir)
            except Exception as error:  # noqa: BLE001 - the voice is prepared in memory instead
                print(f"the voice cache is not used: {type(error).__name__}: {error}", file=sys.stderr)
        if voice is None:
            from piper import PiperVoice

            try:
                voice = PiperVoice.load(model, include_alignments=True)
            except TypeError:  # a piper-tts without alignments
                voice = PiperVoice.load(model)
    except Exception as error:  # noqa: BLE001 - any load failure is reported
        answer({"ok": False, "error": f"loading the voice failed: {type(error).__name__}: {error}"})
        return 1
    answer({"ready": True, "sample_rate": voice.config.sample_rate, "cache": cache})

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


def load_prepared(model: str, cache_dir: str):
    """The voice from its prepared copy in `cache_dir`, made first when missing
    or unreadable: (voice, "hit" | "stored")."""
    import hashlib
    import importlib.metadata
    from pathlib import Path

    import onnxruntime
    from piper import PiperVoice
    from piper.config import PiperConfig
    from piper.phonemize_espeak import ESPEAK_DATA_DIR

    source = os.path.realpath(model)
    facts = os.stat(source)
    with open(f"{model}.json", "r", encoding="utf-8") as file:
        config = PiperConfig.from_dict(json.load(file))
    # The copy is made again when the model or either library changes.
    key = hashlib.sha256(
        "\n".join(
            [
                "aligned-extended-v1",
                source,
                str(facts.st_size),
                str(facts.st_mtime_ns),
                onnxruntime.__version__,
                importlib.metadata.version("piper-tts"),
            ]
        ).encode()
    ).hexdigest()[:20]
    # Named by the voice and where it is installed (two voices of one name
    # in different folders keep a copy each); older copies share the name.
    where = hashlib.sha256(source.encode()).hexdigest()[:8]
    stem = f"{Path(source).stem}-{where}"
    prepared = os.path.join(cache_dir, f"{stem}-{key}.onnx")

    def options(level, save_to=None):
        options = onnxruntime.SessionOptions()  # with main's threads
        options.graph_optimization_level = level
        if save_to:
            options.optimized_model_filepath = save_to
        return options

    def voice(session):
        return PiperVoice(
            config=config, session=session, espeak_data_dir=Path(ESPEAK_DATA_DIR), download_dir=Path.cwd()
        )

    levels = onnxruntime.GraphOptimizationLevel
    providers = ["CPUExecutionProvider"]
    if os.path.exists(prepared):
        try:
            # Already optimised: optimising again would only cost time.
            session = onnxruntime.InferenceSession(
                prepared, sess_options=options(levels.ORT_DISABLE_ALL), providers=providers
            )
            return voice(session), "hit"
        except Exception as error:  # noqa: BLE001 - a damaged copy is made again
            print(f"the prepared voice did not load, preparing it again: {error}", file=sys.stderr)
    import onnx  # only to prepare: it takes longer to import than the copy to load
    from piper.patch_voice_with_alignment import add_alignment_output

    os.makedirs(cache_dir, mode=0o700, exist_ok=True)
    graph = onnx.load(source)
    try:
        add_alignment_output(graph)
    except ValueError:
        pass  # already patched (or nothing to patch): used as it is
    # Extended, not all: the copy holds no optimisation for this very CPU
    # (onnxruntime's NCHWc layouts), so any machine sharing the cache can use it.
    aside = f"{prepared}.{os.getpid()}.part"
    try:
        session = onnxruntime.InferenceSession(
            graph.SerializeToString(), sess_options=options(levels.ORT_ENABLE_EXTENDED, aside), providers=providers
        )
        os.replace(aside, prepared)
    finally:
        if os.path.exists(aside):
            os.remove(aside)
    # Copies of this voice for other versions are not needed any more, nor
    # parts a killed child left (an hour is longer than any preparation).
    older = re.compile(re.escape(stem) + r"-[0-9a-f]{20}\.onnx")
    for name in os.listdir(cache_dir):
        path = os.path.join(cache_dir, name)
        try:
            if older.fullmatch(name) and path != prepared:
                os.remove(path)
            elif name.endswith(".part") and time.time() - os.stat(path).st_mtime > 3600:
                os.remove(path)
        except OSError:
            pass
    return voice(session), "stored"


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
