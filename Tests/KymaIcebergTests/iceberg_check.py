"""The judge of Kyma's Iceberg tables: pyiceberg loads a table through a catalog (sql / rest /
glue), pyarrow reads its rows, DuckDB reads its data files, and everything is printed as one
JSON object for the Swift test to compare with what Kyma wrote.

usage: iceberg_check.py CATALOG_JSON TABLE [ROW_FILTER]
  CATALOG_JSON: {"type": "sql", "uri": ..., "warehouse": ...} or {"type": "rest", "uri": ...}
                or {"type": "glue", "endpoint": ..., ...}
"""
import datetime, json, sys

import duckdb
from pyiceberg.catalog import load_catalog


def norm(v):
    if isinstance(v, datetime.datetime):
        return int(v.timestamp() * 1_000_000)
    if isinstance(v, datetime.date):
        return (v - datetime.date(1970, 1, 1)).days
    if isinstance(v, bytes):
        return v.hex()
    if isinstance(v, dict):
        return {k: norm(x) for k, x in v.items()}
    return v


config = json.loads(sys.argv[1])
kind = config.pop("type")
name = config.pop("name", "kyma")
catalog = load_catalog(name, **{"type": kind, **config})
table = catalog.load_table(sys.argv[2])
schema = table.schema()
out = {
    "schema": [[f.field_id, f.name, str(f.field_type), f.required] for f in schema.fields],
    "current": table.current_snapshot().snapshot_id if table.current_snapshot() else None,
    "snapshots": [
        {"id": s.snapshot_id, "parent": s.parent_snapshot_id, "sequence": s.sequence_number,
         "operation": s.summary.operation.value if s.summary else None,
         "summary": dict(s.summary.additional_properties) if s.summary else {}}
        for s in table.snapshots()
    ],
}
files = table.inspect.files().to_pylist() if table.current_snapshot() else []
out["files"] = [
    {"path": f["file_path"], "partition": norm(f["partition"]) if f["partition"] else {}, "record_count": f["record_count"],
     "metrics": {k: {"lower": norm(m["lower_bound"]), "upper": norm(m["upper_bound"]), "nulls": m["null_value_count"],
                     "values": m["value_count"]} for k, m in (f["readable_metrics"] or {}).items() if m is not None}}
    for f in files
]
rows = table.scan().to_arrow().to_pylist()
first = schema.fields[0].name
rows.sort(key=lambda r: (r[first] is None, r[first]))
out["rows"] = [[norm(r[f.name]) for f in schema.fields] for r in rows]
if len(sys.argv) > 3:
    scan = table.scan(row_filter=sys.argv[3])
    out["filtered"] = {"rows": scan.to_arrow().num_rows, "files_planned": len(list(scan.plan_files()))}
paths = [f["file_path"].replace("file://", "") for f in files]
if paths and all(p.startswith("/") for p in paths):
    out["duckdb_rows"] = duckdb.sql(f"SELECT count(*) FROM read_parquet({paths!r}, union_by_name=true)").fetchall()[0][0]
print(json.dumps(out))
