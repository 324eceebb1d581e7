#!/usr/bin/env python3
"""Vendors a curated subset of the Lucide icons (ISC licence) into
crates/media/assets/icons/ and regenerates the index the media crate embeds.

Usage (from the repository root; needs npm and network access to the npm registry):

    python3 scripts/vendor-icons.py            # downloads lucide-static with `npm pack`
    python3 scripts/vendor-icons.py DIR        # uses an extracted package in DIR

It writes, replacing what was there:
  crates/media/assets/icons/<name>.svg   the icons, comment and whitespace stripped
  crates/media/assets/icons/index.tsv    name <TAB> comma-separated keywords (Lucide's tags + EXTRA)
  crates/media/assets/icons/LICENSE      Lucide's licence file
  crates/media/src/card/icons_gen.rs  the table compiled into the binary
"""
import json
import os
import re
import subprocess
import sys
import tarfile
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "crates", "media", "assets", "icons")
GEN = os.path.join(ROOT, "crates", "media", "src", "card", "icons_gen.rs")

# The icons kept: things a narrated scene talks about (no UI chrome, arrows, file kinds, text formatting).
CURATED = """
sun sun-dim sunrise sunset moon moon-star cloud cloudy cloud-rain cloud-rain-wind cloud-drizzle cloud-snow
cloud-lightning cloud-sun cloud-sun-rain cloud-moon cloud-moon-rain cloud-fog cloud-hail snowflake umbrella wind
tornado rainbow thermometer thermometer-sun thermometer-snowflake droplet droplets haze zap flame sparkles
star orbit earth globe mountain mountain-snow tree-deciduous tree-pine tree-palm trees leaf leafy-green sprout
flower flower-2 rose clover shrub shell stone tent tent-tree wheat sun-snow waves-horizontal
apple banana cherry citrus grape carrot broccoli salad soup pizza sandwich hamburger croissant cake cake-slice cookie
cupcake dessert donut ice-cream-cone ice-cream-bowl candy lollipop popcorn egg egg-fried beef ham drumstick fish
shrimp milk coffee cup-soda beer wine martini glass-water bottle-wine chef-hat cooking-pot utensils utensils-crossed
microwave refrigerator store shopping-basket shopping-cart shopping-bag receipt bean nut vegan avocado
user users user-round users-round user-group user-check user-plus baby person-standing accessibility contact
handshake hand hand-heart hand-helping hand-coins heart heart-handshake heart-pulse face-slightly-smiling face-grinning face-slightly-frowning face-angry
brain footprints biceps-flexed ear eye speech message-circle message-square messages-square mic megaphone
briefcase briefcase-business building factory warehouse landmark store presentation chart-line
chart-bar chart-pie chart-column chart-column-increasing chart-area trending-up trending-down target goal
award trophy medal crown badge-check gavel scale calculator clipboard-list clipboard-check list-checks
calendar calendar-days calendar-check clock alarm-clock hourglass timer watch
banknote coins wallet piggy-bank credit-card dollar-sign euro pound-sterling japanese-yen bitcoin percent
circle-dollar-sign receipt-text landmark gem vault
laptop monitor smartphone tablet computer cpu server database hard-drive wifi bluetooth bot code terminal
keyboard mouse printer camera video film clapperboard tv radio headphones mic-vocal guitar piano drum eighth-notes
gamepad-2 joystick satellite satellite-dish rocket atom dna microscope flask-conical test-tube telescope magnet
battery-charging plug lightbulb cog settings wrench hammer drill shovel pickaxe axe ruler scissors paintbrush
palette pen pencil book book-open library graduation-cap school notebook newspaper scroll file-text folder mail
send inbox phone languages map map-pin compass navigation route signpost
car car-front bus train-front tram-front plane plane-takeoff plane-landing ship sailboat bike motorbike
truck tractor fuel ev-charger anchor helicopter cable-car rocket luggage tickets-plane ticket hotel
house houses bed sofa armchair lamp bath shower-head door-open key lock lock-open fence castle church
mosque hospital university tent construction hard-hat traffic-cone
dog cat bird fish rabbit turtle snail squirrel rat bug worm paw-print bone feather panda
stethoscope pill syringe thermometer activity ambulance cross bandage hospital tablets microscope virus
dumbbell volleyball trophy bike mountain flag medal goal
gift party-popper balloon cake candy-cane sparkles ghost drama theater ferris-wheel roller-coaster
shield shield-check siren triangle-alert lightbulb puzzle infinity recycle leaf sprout
handshake lock eye-off search zoom-in link network share-2 cloud-upload download upload
thumbs-up thumbs-down bell bell-ring megaphone flag signpost-big lighthouse bridge dam factory
solar-panel wind zap plug-zap fan heater umbrella glasses shirt watch gem crown scissors
sword swords skull tombstone
""".split()

# Keywords Lucide's tags lack but narration uses; put first, so they win ties.
EXTRA = {
    "cloud-lightning": ["storm", "thunderstorm", "thunder", "lightning"],
    "cloud-rain": ["rain", "storm", "rainy", "shower"],
    "cloud-rain-wind": ["storm", "gale", "rain"],
    "cloud-snow": ["snow", "winter", "blizzard"],
    "snowflake": ["winter", "cold", "frost", "ice"],
    "sun": ["sunny", "summer", "day", "sunshine"],
    "moon": ["night", "evening", "sleep"],
    "croissant": ["bakery", "bread", "baker", "pastry", "breakfast"],
    "wheat": ["grain", "harvest", "farm", "flour"],
    "cake": ["birthday", "bakery", "celebration"],
    "chef-hat": ["cook", "chef", "kitchen", "restaurant"],
    "utensils": ["restaurant", "meal", "dinner", "lunch", "eat", "food"],
    "coffee": ["cafe", "morning", "breakfast"],
    "store": ["shop", "opens", "business", "retail"],
    "trending-up": ["revenue", "growth", "grow", "grew", "increase", "profit", "sales", "rise"],
    "trending-down": ["decline", "drop", "fall", "loss", "decrease"],
    "chart-column-increasing": ["quarterly", "results", "report", "growth"],
    "banknote": ["money", "cash", "pay", "salary", "price"],
    "piggy-bank": ["savings", "save", "saving", "budget"],
    "users": ["team", "people", "group", "staff", "colleagues", "friends", "family"],
    "users-round": ["community", "people", "crowd"],
    "handshake": ["deal", "partner", "partnership", "agreement", "meet", "met"],
    "presentation": ["meeting", "conference", "talk", "lecture"],
    "building": ["city", "office", "headquarters", "town", "downtown"],
    "landmark": ["capital", "government", "bank", "museum", "berlin", "paris", "london", "rome", "washington"],
    "plane": ["flight", "fly", "travel", "trip", "airport", "holiday", "vacation"],
    "train-front": ["railway", "station", "commute", "journey"],
    "car": ["drive", "driving", "road", "traffic"],
    "ship": ["sea", "ocean", "harbor", "harbour", "voyage", "port"],
    "waves-horizontal": ["ocean", "sea", "water", "beach", "surf", "wave"],
    "mountain": ["hike", "hiking", "climb", "alps", "peak", "summit"],
    "trees": ["forest", "woods", "nature", "park"],
    "house": ["home", "house", "family", "live", "apartment"],
    "graduation-cap": ["student", "university", "graduate", "degree", "study"],
    "school": ["school", "teacher", "class", "pupils", "lesson"],
    "book-open": ["read", "reading", "story", "learn", "learning", "book"],
    "heart": ["love", "care", "heart", "kindness"],
    "heart-pulse": ["health", "healthy", "heartbeat", "fitness"],
    "stethoscope": ["doctor", "clinic", "medical", "nurse", "checkup"],
    "hospital": ["hospital", "emergency", "patient"],
    "laptop": ["computer", "work", "remote", "software", "online"],
    "code": ["programming", "developer", "software", "code"],
    "bot": ["robot", "ai", "automation", "assistant"],
    "brain": ["mind", "think", "idea", "thinking", "intelligence", "memory"],
    "lightbulb": ["idea", "innovation", "invention", "insight"],
    "rocket": ["launch", "startup", "space", "mission"],
    "clock": ["time", "hour", "hours", "minute", "morning", "six", "o'clock"],
    "alarm-clock": ["wake", "morning", "early"],
    "calendar": ["date", "week", "month", "year", "schedule", "day"],
    "dog": ["puppy", "pet"],
    "cat": ["kitten", "pet"],
    "bird": ["birds", "song", "sky"],
    "fish": ["fishing", "aquarium", "river"],
    "eighth-notes": ["song", "songs", "concert", "melody", "band"],
    "camera": ["photo", "photograph", "picture", "photography"],
    "shopping-cart": ["shopping", "buy", "customer", "customers", "order"],
    "gift": ["present", "gift", "christmas"],
    "party-popper": ["party", "celebrate", "celebration", "festival"],
    "trophy": ["win", "winner", "champion", "victory", "prize"],
    "flame": ["fire", "hot", "heat", "burn"],
    "droplet": ["water", "drop", "drink"],
    "wind": ["windy", "breeze", "gust", "blow"],
    "tent": ["camping", "camp"],
    "dumbbell": ["gym", "workout", "exercise", "training", "sport"],
    "bike": ["cycling", "bicycle", "ride"],
    "globe": ["world", "global", "international", "planet"],
    "mail": ["email", "letter", "message", "newsletter"],
    "phone": ["call", "telephone"],
    "shield-check": ["safety", "safe", "secure", "security", "protect", "protection"],
    "lock": ["privacy", "password", "secret"],
    "factory": ["industry", "manufacturing", "production", "plant"],
    "leaf": ["green", "environment", "eco", "climate", "sustainable"],
    "sprout": ["growth", "garden", "gardening", "plant", "seed"],
    "flag": ["country", "nation", "goal", "start"],
}


def strip_svg(text):
    text = re.sub(r"<!--.*?-->", "", text, flags=re.S)
    text = re.sub(r'\s+class="[^"]*"', "", text)
    return re.sub(r">\s+<", "><", re.sub(r"\s+", " ", text)).strip() + "\n"


def main():
    if len(sys.argv) > 1:
        pkg = sys.argv[1]
    else:
        tmp = tempfile.mkdtemp()
        subprocess.run(["npm", "pack", "lucide-static", "--silent"], cwd=tmp, check=True)
        tgz = [f for f in os.listdir(tmp) if f.endswith(".tgz")][0]
        with tarfile.open(os.path.join(tmp, tgz)) as t:
            t.extractall(tmp, filter="data")
        pkg = os.path.join(tmp, "package")
    with open(os.path.join(pkg, "tags.json")) as f:
        tags = json.load(f)
    with open(os.path.join(pkg, "package.json")) as f:
        version = json.load(f)["version"]
    names = []
    for name in CURATED:
        if name in names:
            continue
        if name not in tags or not os.path.exists(os.path.join(pkg, "icons", name + ".svg")):
            print(f"skipped (not in lucide-static {version}): {name}", file=sys.stderr)
            continue
        names.append(name)
    names.sort()
    for name in EXTRA:
        if name not in names:
            print(f"EXTRA keywords for an icon not kept: {name}", file=sys.stderr)
    for stale in os.listdir(OUT) if os.path.isdir(OUT) else []:
        if stale.endswith(".svg"):
            os.remove(os.path.join(OUT, stale))
    os.makedirs(OUT, exist_ok=True)
    rows = []
    for name in names:
        with open(os.path.join(pkg, "icons", name + ".svg")) as f:
            svg = strip_svg(f.read())
        with open(os.path.join(OUT, name + ".svg"), "w") as f:
            f.write(svg)
        words = []
        for tag in EXTRA.get(name, []) + tags[name]:
            tag = tag.strip().lower().replace("\t", " ").replace(",", " ")
            if tag and tag not in words:
                words.append(tag)
        rows.append(f"{name}\t{','.join(words)}\n")
    with open(os.path.join(OUT, "index.tsv"), "w") as f:
        f.write(f"# Lucide icons (lucide-static {version}, ISC licence): name<TAB>keywords. Generated by scripts/vendor-icons.py.\n")
        f.writelines(rows)
    with open(os.path.join(pkg, "LICENSE")) as src, open(os.path.join(OUT, "LICENSE"), "w") as dst:
        dst.write(src.read())
    os.makedirs(os.path.dirname(GEN), exist_ok=True)
    with open(GEN, "w") as f:
        f.write(f"// Generated by scripts/vendor-icons.py from lucide-static {version} (ISC): do not edit.\n\n")
        f.write("/// The vendored icons: (name, SVG), sorted by name; keywords are in `INDEX`.\n")
        f.write("pub(super) static ICONS: &[(&str, &str)] = &[\n")
        for name in names:
            f.write(f'    ("{name}", include_str!("../../assets/icons/{name}.svg")),\n')
        f.write("];\n\n/// name<TAB>keywords lines (and a # comment line).\n")
        f.write('pub(super) static INDEX: &str = include_str!("../../assets/icons/index.tsv");\n')
    print(f"{len(names)} icons from lucide-static {version}", file=sys.stderr)


if __name__ == "__main__":
    main()
