"""Question bank input and output: read, validate, import, export, verify — one module per concern:

- ``format``: the fields, columns, limits and aliases of the bank format, and its records;
- ``readers``: every file format into raw records (parsed in the upload parser's child process);
- ``validation``: the common fields, one validator per question type, the source quote;
- ``importing``: verifying files, planning and writing an import, all or nothing;
- ``export``: YAML and .xlsx exports and the import template;
- ``stats``: the bank's size, spread and quality checks, with the shipped bank's limits.

One bad row anywhere means nothing is imported, and every bad row is reported with its file, row and
field. Callers use ``services.bank_io`` as one module: the names below are its public face.
"""

from .export import current_versions, export_xlsx, export_yaml, template_xlsx
from .format import (
    ACCEPTED,
    BLANK,
    COLUMNS,
    DEFAULT_ABILITIES,
    DEFAULT_CATEGORIES,
    FIELD_LABELS,
    OPTION_KEYS,
    TYPE_ALIASES,
    UNIT_FORMATS,
    Batch,
    CaseDraft,
    Draft,
    ImportPlan,
    ImportSummary,
    RawRecord,
)
from .importing import (
    db_resolver,
    ensure_taxonomy,
    import_batch,
    load_shipped_banks,
    plan_import,
    read_for_import,
    verify_paths,
)
from .moodle import Skipped, export_aiken, export_gift, export_moodle_xml, parse_aiken, parse_gift
from .readers import expand_paths, read_batch, read_paths
from .rubric import rubric_lines
from .stats import LIMITS, BankStats, bank_stats
from .validation import TYPE_VALIDATORS, SourceResolver, validate_record
from .word import export_docx, records_from_paragraphs, template_docx

__all__ = [
    "rubric_lines",
    "ACCEPTED",
    "UNIT_FORMATS",
    "Skipped",
    "export_aiken",
    "export_docx",
    "export_gift",
    "export_moodle_xml",
    "parse_aiken",
    "parse_gift",
    "records_from_paragraphs",
    "template_docx",
    "LIMITS",
    "BankStats",
    "bank_stats",
    "BLANK",
    "COLUMNS",
    "DEFAULT_ABILITIES",
    "DEFAULT_CATEGORIES",
    "FIELD_LABELS",
    "OPTION_KEYS",
    "TYPE_ALIASES",
    "TYPE_VALIDATORS",
    "Batch",
    "CaseDraft",
    "Draft",
    "ImportPlan",
    "ImportSummary",
    "RawRecord",
    "SourceResolver",
    "current_versions",
    "db_resolver",
    "ensure_taxonomy",
    "expand_paths",
    "export_xlsx",
    "export_yaml",
    "import_batch",
    "load_shipped_banks",
    "plan_import",
    "read_batch",
    "read_for_import",
    "read_paths",
    "template_xlsx",
    "validate_record",
    "verify_paths",
]
