"""xlflow：党支部标准化规范化建设（两化一创）的 Excel/Word 工作流。

The pipeline (one flat module per stage, imports flow forward only):
checklist/roster/settings → workbook → intake → read → normalize → validate → ledger
→ feedback → evidence → review → master → reports; cli/watch/demo sit at the edge.
"""

__version__ = "0.1.0"
