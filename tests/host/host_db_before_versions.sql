-- The host database as cockpit created it before schema versions (user_version 0):
-- what is on hosts' persistent volumes. Copied from host/db.py; never edit.
CREATE TABLE IF NOT EXISTS events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, type TEXT NOT NULL, turn_id TEXT,
  session TEXT, ts REAL NOT NULL, payload TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS turns (
  turn_id TEXT PRIMARY KEY, session TEXT NOT NULL, text TEXT NOT NULL, reply_to TEXT,
  media TEXT NOT NULL DEFAULT '[]', state TEXT NOT NULL, created REAL NOT NULL,
  finished REAL, error_kind TEXT, error_message TEXT);
CREATE TABLE IF NOT EXISTS sessions (
  name TEXT PRIMARY KEY, claude_session_id TEXT);
CREATE TABLE IF NOT EXISTS session_tools (
  session TEXT NOT NULL, tool TEXT NOT NULL, PRIMARY KEY (session, tool));
CREATE TABLE IF NOT EXISTS waits (
  wait_id TEXT PRIMARY KEY, kind TEXT NOT NULL, turn_id TEXT, session TEXT,
  subject TEXT NOT NULL, detail TEXT NOT NULL, state TEXT NOT NULL,
  answer TEXT, by TEXT, created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS files (
  file_id TEXT PRIMARY KEY, path TEXT NOT NULL, content_type TEXT NOT NULL,
  filename TEXT NOT NULL, created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS prefs (
  name TEXT PRIMARY KEY, value TEXT NOT NULL);
