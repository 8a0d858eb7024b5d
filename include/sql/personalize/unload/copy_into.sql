-- Unload a one-column query's result (CSV lines built by the query) into one file on the external stage:
-- the line is written as it is (no delimiter, enclosure or escaping added), the column's name is the
-- header line. The stage's storage integration holds the credentials: none appear here.
COPY INTO @{{ stage }}/{{ path }}
FROM (
{{ query }}
)
FILE_FORMAT = (
    TYPE = CSV
    COMPRESSION = NONE
    FIELD_DELIMITER = NONE
    RECORD_DELIMITER = '\n'
    FIELD_OPTIONALLY_ENCLOSED_BY = NONE
    ESCAPE = NONE
    ESCAPE_UNENCLOSED_FIELD = NONE
)
HEADER = TRUE
SINGLE = TRUE
OVERWRITE = TRUE
MAX_FILE_SIZE = {{ max_file_size }}
