with documents as (
    select * from {{ ref('stg_reports__documents') }}
)

select
    document_id,
    source_id,
    document_resource_name,
    document_media_type,
    document_title,
    document_publisher,
    document_language,
    document_published_on,
    document_char_count,
    loaded_at
from documents
