-- The events that reports mention, as extracted: one row per event fact of each document (the same event
-- mentioned twice in a document is two rows). The columns are a contract for the event marts: keep them.
with facts as (
    select * from {{ ref('stg_reports__facts') }}
    where kind = 'event'
),

documents as (
    select
        document_id,
        source_id
    from {{ ref('int_report_documents_deduplicated') }}
)

select
    facts.document_id,
    facts.name as event_title,
    facts.start_date,
    facts.end_date,
    facts.attributes ->> 'city' as city_name,
    facts.geonames_id,
    facts.country_code,
    facts.attributes ->> 'organiser' as organiser
from facts
inner join documents
    on facts.document_id = documents.document_id
    and facts.source_id = documents.source_id
