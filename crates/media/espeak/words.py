# espeak-ng through its library, in a child process of Reelforge: speaks each
# sentence and reports where each word starts (espeak-ng's word events),
# which its command line cannot. Run as `python3 -I -c <this> ` with a JSON
# request on stdin: {"voice": "gmw/en-US", "rate": 165, "sentences": [...]}.
#
# Writes one JSON line, {"sample_rate": 22050, "sentences": [{"samples": n,
# "words": [[text_position, length, audio_ms], ...]}, ...]}, then every
# sentence's 16-bit mono samples (little-endian), one after the other.
# Text positions count characters from 1, as espeak-ng does.
#
# Exit codes: 3 the voice is unknown, 4 the library cannot be loaded,
# 5 synthesis failed, 2 the request is malformed.
import ctypes
import json
import sys

AUDIO_OUTPUT_SYNCHRONOUS = 2
INITIALIZE_DONT_EXIT = 0x8000
RATE = 1
POS_CHARACTER = 1
CHARS_UTF8 = 1
END_PAUSE = 0x1000
EVENT_LIST_TERMINATED = 0
EVENT_WORD = 1


class Event(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", ctypes.c_char * 8),
    ]


Callback = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(Event))


def main():
    try:
        request = json.loads(sys.stdin.buffer.read())
        voice = str(request["voice"]).encode()
        rate = int(request.get("rate", 165))
        sentences = [str(s) for s in request["sentences"]]
    except (ValueError, KeyError, TypeError) as err:
        print(f"malformed request: {err}", file=sys.stderr)
        return 2
    try:
        lib = ctypes.CDLL("libespeak-ng.so.1")
    except OSError as err:
        print(f"libespeak-ng cannot be loaded: {err}", file=sys.stderr)
        return 4
    sample_rate = lib.espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0, None, INITIALIZE_DONT_EXIT)
    if sample_rate <= 0:
        print("libespeak-ng did not start (no voice data?)", file=sys.stderr)
        return 4

    current = {"chunks": [], "words": []}

    def collect(wav, count, events):
        if count > 0 and wav:
            current["chunks"].append(ctypes.string_at(wav, count * 2))
        i = 0
        while events[i].type != EVENT_LIST_TERMINATED:
            event = events[i]
            if event.type == EVENT_WORD:
                current["words"].append([event.text_position, event.length, event.audio_position])
            i += 1
        return 0

    callback = Callback(collect)
    lib.espeak_SetSynthCallback(callback)
    if lib.espeak_SetVoiceByName(voice) != 0:
        print(f"espeak-ng has no voice {voice.decode(errors='replace')!r}", file=sys.stderr)
        return 3
    lib.espeak_SetParameter(RATE, rate, 0)

    report, audio = [], []
    for sentence in sentences:
        current["chunks"], current["words"] = [], []
        text = sentence.encode()
        buffer = ctypes.create_string_buffer(text)
        if lib.espeak_Synth(buffer, len(text) + 1, 0, POS_CHARACTER, 0, CHARS_UTF8 | END_PAUSE, None, None) != 0:
            print("espeak-ng could not speak a sentence", file=sys.stderr)
            return 5
        lib.espeak_Synchronize()
        pcm = b"".join(current["chunks"])
        report.append({"samples": len(pcm) // 2, "words": current["words"]})
        audio.append(pcm)
    lib.espeak_Terminate()

    out = sys.stdout.buffer
    out.write(json.dumps({"sample_rate": sample_rate, "sentences": report}).encode() + b"\n")
    for pcm in audio:
        out.write(pcm)
    out.flush()
    return 0


sys.exit(main())
