"""PostgreSQL only: a GIN index over the character bigrams of a message's content and reply.

It lets the message log find any text of two characters or more (Chinese words are mostly
two characters: 营业, 退款) without reading the table; see `messaging.search`. On SQLite this
migration does nothing and the search falls back to plain substring matching.

The index is built CONCURRENTLY (hence `atomic = False`) so that deploying it on a log of
millions of rows does not block the callback's INSERTs while it builds.
"""
from django.db import migrations

# Character bigrams of the lower-cased content and reply, skipping those that contain white
# space (search terms never do); GIN removes duplicates itself. IMMUTABLE so that it can be
# indexed, plpgsql over a character array because that costs ~15 µs per message where a SQL
# version with generate_series cost ~50 µs; COST set high so that the planner prefers the
# index to computing it row by row. The query side calls the same function on the term.
CREATE_BIGRAM_FUNCTION_SQL = r"""
CREATE OR REPLACE FUNCTION messaging_search_bigrams(content text, reply text)
RETURNS text[] LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE COST 1000 AS $$
DECLARE
  chars text[] := string_to_array(
    regexp_replace(lower(coalesce(content, '') || ' ' || coalesce(reply, '')), '\s', ' ', 'g'),
    NULL);
  grams text[] := '{}';
BEGIN
  FOR i IN 1 .. coalesce(array_length(chars, 1), 0) - 1 LOOP
    IF chars[i] <> ' ' AND chars[i + 1] <> ' ' THEN
      grams := grams || (chars[i] || chars[i + 1]);
    END IF;
  END LOOP;
  RETURN grams;
END
$$
"""
CREATE_SEARCH_INDEX_SQL = """
CREATE INDEX CONCURRENTLY IF NOT EXISTS messaging_inbound_search_bigrams
ON messaging_inboundmessage USING gin (messaging_search_bigrams(content, reply_summary))
"""
DROP_SEARCH_INDEX_SQL = "DROP INDEX CONCURRENTLY IF EXISTS messaging_inbound_search_bigrams"
DROP_BIGRAM_FUNCTION_SQL = "DROP FUNCTION IF EXISTS messaging_search_bigrams(text, text)"


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(CREATE_BIGRAM_FUNCTION_SQL)
        cursor.execute(CREATE_SEARCH_INDEX_SQL)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(DROP_SEARCH_INDEX_SQL)
        cursor.execute(DROP_BIGRAM_FUNCTION_SQL)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("messaging", "0005_message_daily_count"),
    ]

    operations = [migrations.RunPython(create, drop, elidable=False)]
