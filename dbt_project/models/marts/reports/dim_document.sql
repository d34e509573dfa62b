with documents as (
    select * from {{ ref('int_report_documents_deduplicated') }}
)

select
    document_id,
    source_id,
    document_source_ids,
    document_resource_name,
    document_media_type,
    document_title,
    document_publisher,
    document_language,
    document_published_on,
    document_char_count,
    document_fact_count,
    loaded_at
from documents
