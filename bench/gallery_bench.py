"""Gallery benchmark: seed a million images in PostgreSQL, then time the gallery's queries.

    .venv/bin/python bench/gallery_bench.py                  # seed (about a minute), then time
    .venv/bin/python bench/gallery_bench.py --reuse          # time an already seeded database
    .venv/bin/python bench/gallery_bench.py --images 200000  # a smaller run

It creates (or, without --reuse, recreates) the database named by --database
(``atelier_bench``) on the server of BENCH_DATABASE_URL (default
postgres://postgres@127.0.0.1:5432), migrates it with Django's ``migrate``, loads
users, teams, memberships, jobs, images and the search vocabulary with COPY, and
prints p50/p95 of each query, called the way the views call it (through
``gallery.selectors.image_search``). It is not part of the test suite; a test
runs ``seed`` on a few hundred rows so that the script keeps working.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# Real words head the vocabulary, so the common ones the queries use read naturally.
COMMON_WORDS = (
    "portrait landscape mountain sunset forest city night river ocean cat dog robot castle "
    "garden flower storm winter summer desert island temple street market dragon knight "
    "painting watercolor sketch neon cyberpunk vintage minimal abstract surreal cinematic "
    "golden misty ancient futuristic cozy quiet bright dark colorful lonely giant tiny"
).split()
SYLLABLES = (
    "ka lo mi ra ven tor sel da qui bar nel os fu ri zan pe tho gla mor sti lun ca vex dor "
    "ith ul pra sen gor wil ny ob ta ze ro ma fi"
).split()
TAGS = "hero concept final draft moodboard client print web social archive".split()
MODELS = ("gpt-image-1", "gpt-image-1-mini", "dall-e-3", "demo")
SIZES = ((1024, 1024), (1536, 1024), (1024, 1536), (512, 512))


@dataclass(frozen=True)
class Plan:
    images: int
    users: int
    teams: int
    heavy_users: int
    # Share of a heavy user's images among all images.
    heavy_share: float = 0.3
    shared_share: float = 0.2
    images_per_job: int = 2
    seed: int = 5

    @classmethod
    def for_images(cls, images: int) -> Plan:
        return cls(
            images=images,
            users=max(4, images // 100),
            teams=max(2, images // 1000),
            heavy_users=max(1, min(10, images // 100_000)),
        )


def vocabulary(rng: random.Random, size: int = 6000) -> list[str]:
    words = list(COMMON_WORDS)
    seen = set(words)
    while len(words) < size:
        word = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4)))
        if word not in seen:
            seen.add(word)
            words.append(word)
    return words


def _zipf_weights(size: int) -> list[float]:
    total = 0.0
    cumulative = []
    for rank in range(1, size + 1):
        total += 1.0 / rank
        cumulative.append(total)
    return cumulative


def _required_columns(cursor, table: str, given: list[str]) -> list[tuple[str, str]]:
    """NOT NULL columns without a database default that a COPY must still fill.

    Other apps add columns to these tables; filling them by type keeps the seed
    working without knowing each one.
    """
    cursor.execute(
        """
        SELECT column_name, data_type FROM information_schema.columns
        WHERE table_name = %s AND is_nullable = 'NO' AND column_default IS NULL
          AND is_generated = 'NEVER' AND is_identity = 'NO' ORDER BY ordinal_position
        """,
        [table],
    )
    return [(name, kind) for name, kind in cursor.fetchall() if name not in given]


_FILL = {
    "text": "",
    "character varying": "",
    "integer": "0",
    "smallint": "0",
    "bigint": "0",
    "numeric": "0",
    "boolean": "f",
    "jsonb": "{}",
    "timestamp with time zone": "2025-01-01 00:00:00+00",
    "uuid": None,
}


def _copy(cursor, table: str, columns: list[str], rows) -> int:
    extra = _required_columns(cursor, table, columns)
    constants = []
    for name, kind in extra:
        if _FILL.get(kind) is None:
            raise RuntimeError(f"bench cannot fill {table}.{name} ({kind}); teach it how")
        constants.append(_FILL[kind])
    suffix = ("\t" + "\t".join(constants)) if constants else ""
    names = ", ".join(f'"{name}"' for name in columns + [name for name, _ in extra])
    count = 0
    with cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
        buffer = []
        for row in rows:
            buffer.append("\t".join(row) + suffix + "\n")
            count += 1
            if len(buffer) >= 5000:
                copy.write("".join(buffer))
                buffer.clear()
        if buffer:
            copy.write("".join(buffer))
    return count


def seed(*, cursor, plan: Plan) -> dict[str, int]:
    """Loads users, teams, memberships, jobs, images and vocabulary with COPY.

    ``cursor`` is a psycopg 3 cursor; ids continue after whatever rows exist.
    Returns how many rows went into each table.
    """
    rng = random.Random(plan.seed)
    words = vocabulary(rng)
    cumulative = _zipf_weights(len(words))
    cursor.execute("SELECT coalesce(max(id), 0) FROM auth_user")
    user0 = cursor.fetchone()[0] + 1
    cursor.execute("SELECT coalesce(max(id), 0) FROM teams_team")
    team0 = cursor.fetchone()[0] + 1
    cursor.execute("SELECT coalesce(max(id), 0) FROM gallery_image")
    image0 = cursor.fetchone()[0] + 1
    counts = {}
    now = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)

    counts["users"] = _copy(
        cursor,
        "auth_user",
        ["id", "username", "password", "is_superuser", "is_staff", "is_active", "date_joined"],
        (
            (str(user0 + u), f"bench{user0 + u}", "!", "f", "f", "t", now.isoformat())
            for u in range(plan.users)
        ),
    )
    counts["teams"] = _copy(
        cursor,
        "teams_team",
        ["id", "name", "created_at"],
        ((str(team0 + t), f"Team {t}", now.isoformat()) for t in range(plan.teams)),
    )
    # Every user belongs to one team (user % teams); every team's first member owns it.
    counts["memberships"] = _copy(
        cursor,
        "teams_membership",
        ["team_id", "user_id", "role", "created_at"],
        (
            (
                str(team0 + u % plan.teams),
                str(user0 + u),
                "owner" if u < plan.teams else ("editor" if u % 3 else "viewer"),
                now.isoformat(),
            )
            for u in range(plan.users)
        ),
    )

    heavy_images = int(plan.images * plan.heavy_share)
    start = now - dt.timedelta(days=730)
    step = dt.timedelta(days=730) / max(plan.images, 1)

    def owner_of(i: int) -> int:
        # A few heavy users hold a large share, so deep pages and big galleries exist.
        if i % plan.images < heavy_images and rng.random() < 0.999:
            return rng.randrange(plan.heavy_users)
        return rng.randrange(plan.users)

    jobs = []
    images = []
    n_jobs = (plan.images + plan.images_per_job - 1) // plan.images_per_job
    for j in range(n_jobs):
        owner = owner_of(rng.randrange(plan.images))
        created = start + step * (j * plan.images_per_job) + dt.timedelta(seconds=rng.random())
        prompt = " ".join(rng.choices(words, cum_weights=cumulative, k=rng.randint(6, 14)))
        job_id = f"{plan.seed:08x}-0000-4000-8000-{j:012x}"
        model = MODELS[j % len(MODELS)]
        width, height = SIZES[j % len(SIZES)]
        jobs.append(
            (
                job_id,
                str(user0 + owner),
                "generate",
                "openai",
                "default",
                model,
                prompt,
                f'{{"size": "{width}x{height}"}}',
                "succeeded",
                created.isoformat(),
            )
        )
        team = str(team0 + owner % plan.teams) if rng.random() < plan.shared_share else "\\N"
        for index in range(plan.images_per_job):
            image_id = image0 + len(images)
            if len(images) >= plan.images:
                break
            tags = " ".join(rng.sample(TAGS, 2)) if rng.random() < 0.05 else ""
            images.append(
                (
                    str(image_id),
                    str(user0 + owner),
                    job_id,
                    str(index),
                    f"originals/{job_id}/{index}.png",
                    f"thumbnails/{job_id}/{index}.webp",
                    str(width),
                    str(height),
                    "PNG",
                    str(1_500_000 + index),
                    "0" * 64,
                    prompt,
                    "",
                    "",
                    "",
                    tags,
                    team,
                    "f",
                    "",
                    (created + dt.timedelta(milliseconds=index)).isoformat(),
                )
            )
    counts["jobs"] = _copy(
        cursor,
        "jobs_generationjob",
        [
            "id",
            "owner_id",
            "kind",
            "provider",
            "connection",
            "model",
            "prompt",
            "params",
            "status",
            "created_at",
        ],
        jobs,
    )
    counts["images"] = _copy(
        cursor,
        "gallery_image",
        [
            "id",
            "owner_id",
            "job_id",
            "index",
            "original_key",
            "thumbnail_key",
            "width",
            "height",
            "format",
            "bytes",
            "sha256",
            "prompt",
            "revised_prompt",
            "title",
            "notes",
            "tag_text",
            "team_id",
            "is_hidden",
            "hidden_reason",
            "created_at",
        ],
        images,
    )
    cursor.execute("SELECT word FROM gallery_searchterm")
    known = {row[0] for row in cursor.fetchall()}
    counts["search_terms"] = _copy(
        cursor,
        "gallery_searchterm",
        ["word"],
        ((word,) for word in sorted(set(words) | set(TAGS)) if word not in known),
    )
    for table in ("auth_user", "teams_team", "gallery_image"):
        cursor.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
        )
    return counts


def _server_url() -> str:
    return os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432")


def _create_database(name: str) -> None:
    import psycopg

    with psycopg.connect(f"{_server_url()}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def _setup_django(name: str) -> None:
    os.environ["DATABASE_URL"] = f"{_server_url()}/{name}"
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-" + "x" * 40)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ["DJANGO_LOG_LEVEL"] = "WARNING"
    import django

    django.setup()


def _load(plan: Plan) -> None:
    from django.db import connection

    # The secondary indexes are dropped and rebuilt after the load: one sorted
    # build is several times faster than a million inserts into each index.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'gallery_image' "
            "AND indexname NOT IN (SELECT conname FROM pg_constraint)"
        )
        indexes = cursor.fetchall()
        for name, _ in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
    started = time.perf_counter()
    raw = connection.connection
    with raw.cursor() as cursor:
        # Referential checks are skipped for the load; the generator only makes valid ids.
        cursor.execute("SET session_replication_role = replica")
        counts = seed(cursor=cursor, plan=plan)
        cursor.execute("SET session_replication_role = DEFAULT")
    raw.commit()
    loaded = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("SET maintenance_work_mem = '1GB'")
        cursor.execute("SET max_parallel_maintenance_workers = 2")
        for _, definition in indexes:
            cursor.execute(definition)
        cursor.execute("VACUUM ANALYZE")
    print(
        f"seeded {', '.join(f'{v:,} {k}' for k, v in counts.items())} "
        f"in {loaded - started:.1f} s (COPY) + {time.perf_counter() - loaded:.1f} s "
        f"(indexes, VACUUM ANALYZE)"
    )


def _time(label: str, call, repeat: int) -> tuple[str, float, float, int]:
    call()  # warm the cache and the connection
    samples = []
    rows = 0
    for _ in range(repeat):
        started = time.perf_counter()
        rows = call()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    p95 = samples[min(len(samples) - 1, round(0.95 * (len(samples) - 1)))]
    return label, statistics.median(samples), p95, rows


def run_queries(*, repeat: int) -> list[tuple[str, float, float, int]]:
    from django.contrib.auth import get_user_model
    from django.contrib.postgres.search import SearchQuery
    from django.db import connection
    from django.db.models import Count

    from gallery.models import Image
    from gallery.selectors import ImageQuery, image_search
    from teams.models import Team

    User = get_user_model()
    heavy = (
        User.objects.filter(username__startswith="bench")
        .annotate(n=Count("images"))
        .order_by("-n")
        .first()
    )
    team = Team.objects.annotate(n=Count("images")).order_by("-n").first()
    team.members.filter(id=heavy.id).exists() or team.memberships.create(user=heavy, role="viewer")
    staff = User.objects.filter(username="bench-staff").first() or User.objects.create(
        username="bench-staff", is_staff=True
    )
    rare = (
        Image.objects.filter(owner=heavy)
        .values_list("prompt", flat=True)
        .order_by("-created_at")[:1000]
    )
    counts: dict[str, int] = {}
    for prompt in rare:
        for word in prompt.split():
            counts[word] = counts.get(word, 0) + 1
    rare_word = min(counts, key=lambda w: (counts[w], w))
    common_word = "forest"
    typo = "mountian"

    def exact_ranked(word):
        # What relevance without RELEVANCE_WINDOW would cost: rank every match.
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT id FROM gallery_image WHERE NOT is_hidden AND search_vector @@ "
                "websearch_to_tsquery('english', %s) ORDER BY ts_rank(search_vector, "
                "websearch_to_tsquery('english', %s)) DESC, id DESC LIMIT 49",
                [word, word],
            )
            return len(cursor.fetchall())

    def page(user, **kwargs):
        scope = {key: kwargs.pop(key) for key in ("team", "everything") if key in kwargs}
        return len(image_search(user=user, query=ImageQuery(**kwargs), **scope).images)

    cursor = None
    current = image_search(user=heavy, query=ImageQuery())
    for _ in range(499):
        current = image_search(user=heavy, query=ImageQuery(cursor=current.next_cursor))
    cursor = current.next_cursor

    n_heavy = Image.objects.filter(owner=heavy).count()
    n_team = Image.objects.filter(team=team).count()
    n_common = Image.objects.filter(
        search_vector=SearchQuery(common_word, config="english")
    ).count()
    print(
        f"heavy user {heavy.username}: {n_heavy:,} images; team {team.id}: {n_team:,} images; "
        f"rare word {rare_word!r}; common word {common_word!r} in "
        f"{n_common:,} images"
    )
    return [
        _time("gallery, first page", lambda: page(heavy), repeat),
        _time("gallery, page 501 (keyset)", lambda: page(heavy, cursor=cursor), repeat),
        _time(f"user search, rare word {rare_word!r}", lambda: page(heavy, q=rare_word), repeat),
        _time(
            f"user search, common word {common_word!r}",
            lambda: page(heavy, q=common_word),
            repeat,
        ),
        _time(
            "user search, common word, by relevance",
            lambda: page(heavy, q=common_word, sort="relevance"),
            repeat,
        ),
        _time(f"user search, typo {typo!r}", lambda: page(heavy, q=typo), repeat),
        _time(
            f"team library search {common_word!r}",
            lambda: page(heavy, q=common_word, team=team),
            repeat,
        ),
        _time(
            f"team library search, rare word {rare_word!r}",
            lambda: page(heavy, q=rare_word, team=team),
            repeat,
        ),
        _time(
            f"everything, ranked, common word {common_word!r}",
            lambda: page(staff, q=common_word, sort="relevance", everything=True),
            max(5, repeat // 4),
        ),
        _time(
            f"everything, exact rank of all matches {common_word!r}",
            lambda: exact_ranked(common_word),
            max(5, repeat // 4),
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database", default="atelier_bench")
    parser.add_argument("--images", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=40)
    parser.add_argument("--reuse", action="store_true", help="skip seeding")
    args = parser.parse_args()
    if not args.reuse:
        _create_database(args.database)
    _setup_django(args.database)
    if not args.reuse:
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        _load(Plan.for_images(args.images))
    print(f"{'query':<48} {'p50 ms':>8} {'p95 ms':>8} {'rows':>5}")
    for label, p50, p95, rows in run_queries(repeat=args.repeat):
        print(f"{label:<48} {p50:>8.1f} {p95:>8.1f} {rows:>5}")


if __name__ == "__main__":
    main()
