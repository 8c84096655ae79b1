"""The sales side: leads, deals on pipelines, tasks, contact merges, reports and sync out."""
