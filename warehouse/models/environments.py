import hashlib
import re
import secrets

from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.db import models

IDENTIFIER_RE = re.compile(r"^[a-z][a-z0-9_]*$")
# PostgreSQL truncates identifiers at 63 bytes; a schema name must survive untouched.
MAX_IDENTIFIER_BYTES = 63
RESERVED_SCHEMAS = {"public", "information_schema", "pg_catalog", "pg_toast"}


def validate_identifier_part(value: str) -> None:
    if not IDENTIFIER_RE.match(value):
        raise ValidationError(
            "%(value)r must start with a lowercase letter and contain only lowercase letters, digits and _",
            params={"value": value},
        )


def validate_schema_name(value: str) -> None:
    validate_identifier_part(value)
    if len(value.encode()) > MAX_IDENTIFIER_BYTES:
        raise ValidationError("schema name %(value)r is longer than 63 bytes", params={"value": value})
    if value in RESERVED_SCHEMAS or value.startswith("pg_"):
        raise ValidationError("schema name %(value)r is reserved by PostgreSQL", params={"value": value})


def hash_api_key(key: str) -> str:
    # Keys are 256-bit random tokens, so a fast unsalted hash is enough (no dictionary to attack).
    # A JSON body may carry a lone surrogate ("\ud800"): hashed as is, it matches no key (a 401, not a 500).
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def schema_with_suffix(schema: str, suffix: str) -> str:
    """`<schema><suffix>` (e.g. `main_production_uploads`), shortened with a hash to fit 63 bytes."""
    name = schema + suffix
    if len(name.encode()) <= MAX_IDENTIFIER_BYTES:
        return name
    digest = hashlib.sha1(schema.encode()).hexdigest()[:8]  # noqa: S324 - a name
    return f"{schema[: MAX_IDENTIFIER_BYTES - len(suffix) - 9]}_{digest}{suffix}"


def generate_app_id() -> str:
    return str(secrets.randbelow(9 * 10**9) + 10**9)


# URL query parameters dropped at ingestion unless an environment edits its list (docs/privacy.md):
# a parameter goes when one of these is a whole word of its name (`newsletter_email`, `user[token]`).
DEFAULT_REDACTED_QUERY_PARAMS = (
    "email",
    "e-mail",
    "mail",
    "token",
    "password",
    "passwd",
    "pwd",
    "secret",
    "code",
    "ssn",
    "phone",
    "first_name",
    "last_name",
    "api_key",
    "apikey",
    "auth",
)


def default_redacted_query_params() -> list[str]:
    return list(DEFAULT_REDACTED_QUERY_PARAMS)


class IpMode(models.TextChoices):
    """What an environment stores of a session's IP address (GeoIP always sees the full address)."""

    FULL = "full", "full address"
    TRUNCATED = "truncated", "truncated (IPv4 /24, IPv6 /48)"
    NONE = "none", "none"


class Project(models.Model):
    name = models.CharField(max_length=40, unique=True, validators=[validate_identifier_part])
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Environment(models.Model):
    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="environments")
    name = models.CharField(max_length=40, validators=[validate_identifier_part])
    app_id = models.CharField(max_length=32, unique=True, default=generate_app_id)
    # Indexed: Segment-style requests name their environment by the key alone (the write key).
    api_key_hash = models.CharField(max_length=64, editable=False, db_index=True)
    # The first characters, so people can tell keys apart without the secret.
    api_key_prefix = models.CharField(max_length=12, editable=False)
    warehouse_schema = models.CharField(max_length=63, unique=True, validators=[validate_schema_name])
    # What people call it on the pages (e.g. "Acme shop (live)"); the schema and app id never change with it.
    display_name = models.CharField(max_length=100, blank=True, default="")
    # Heap's server API takes the app id alone; off, the server key stays required (docs/api.md).
    keyless_server_api = models.BooleanField(
        default=False,
        help_text="Accept server events without a key (as Heap does): anyone who knows the app id can send",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # Privacy (docs/privacy.md), applied by ingestion before anything is stored and by the retention job.
    redacted_query_params = ArrayField(
        models.CharField(max_length=100), default=default_redacted_query_params, blank=True
    )
    redact_email_values = models.BooleanField(
        default=True, help_text="Also drop query parameters whose value looks like an email address"
    )
    ip_mode = models.CharField(max_length=16, choices=IpMode.choices, default=IpMode.FULL)
    retention_days = models.PositiveIntegerField(
        null=True, blank=True, help_text="Delete raw events older than this many days (empty: keep everything)"
    )
    # The visual labeler (docs/labeler.md): the sites (origins, e.g. https://shop.example.com) it may be launched
    # on, and whether the demo shop this heapsite serves is one of them.
    labeler_origins = ArrayField(models.CharField(max_length=200), default=list, blank=True)
    labeler_demo_shop = models.BooleanField(
        default=True, help_text="The labeler may also be launched on the demo shop this heapsite serves"
    )

    class Meta:
        ordering = ["project__name", "name"]
        constraints = [models.UniqueConstraint(fields=["project", "name"], name="environment_unique_name")]

    def __str__(self) -> str:
        return self.warehouse_schema

    @property
    def label(self) -> str:
        """What pages call it: its display name, else `project / environment`."""
        return self.display_name or f"{self.project.name} / {self.name}"

    def set_api_key(self, key: str) -> None:
        self.api_key_hash = hash_api_key(key)
        self.api_key_prefix = key[:8]

    def check_api_key(self, key: str) -> bool:
        return secrets.compare_digest(self.api_key_hash, hash_api_key(key))
