"""xlflow：党支部标准化规范化建设（两化一创）的 Excel/Word 工作流。

The pipeline map: one flat module per stage; a module imports only modules listed before it
(tests/test_pipeline.py holds the code to this map, and README's 开发 section points here).
"""

__version__ = "0.1.0"

PIPELINE = {
    # the ground every stage stands on
    "ground": ("constants", "messages", "errors", "files", "checklist", "roster", "settings", "campaign", "workspace",
               "normalize", "sheetstyle", "sheetcache"),
    # handing out: the branch's workbook
    "hand out": ("workbook",),
    # taking in: a returned file → findings → the ledger
    "take in": ("intake", "read", "identify", "validate", "ledger", "register", "chain", "carry", "feedback",
                "review_read", "ingest", "rebuild", "evidence"),
    # judging and summing up
    "sum up": ("scoring", "results", "trajectory", "rectify", "keep", "master_years", "master", "decision", "review"),
    # filing: the Word documents
    "file": ("documents", "doccheck", "reports", "outputs"),
    # the edge: the clock, the schedule loop, the console
    "edge": ("sample", "status", "years", "demo", "watch", "cli"),
}
