"""What several API server processes on one database share: who does the background work
(leadership), and word of changed rows that each one caches (cache_bus)."""
