-- Each collected document once: the copy loaded last. A document collected by several sources (from a URL
-- list and from a feed, say) has the same bytes and so the same id; every source that collected it is listed.
with documents as (
    select * from {{ ref('stg_reports__documents') }}
),

collected_by as (
    select
        document_id,
        string_agg(source_id, ', ' order by source_id) as document_source_ids
    from documents
    group by document_id
),

latest_copy as (
    select distinct on (document_id) *
    from documents
    order by document_id asc, loaded_at desc, source_id asc
)

select
    latest_copy.document_id,
    latest_copy.source_id,
    collected_by.document_source_ids,
    latest_copy.load_id,
    latest_copy.document_resource_name,
    latest_copy.document_media_type,
    latest_copy.document_title,
    latest_copy.document_publisher,
    latest_copy.document_language,
    latest_copy.document_published_on,
    latest_copy.document_text,
    latest_copy.document_char_count,
    latest_copy.document_fact_count,
    latest_copy.loaded_at
from latest_copy
inner join collected_by on latest_copy.document_id = collected_by.document_id
