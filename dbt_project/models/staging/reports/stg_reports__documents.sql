with source as (
    select * from {{ source('reports', 'report_document') }}
),

renamed as (
    select
        document_id,
        source_id,
        load_id,
        resource_name as document_resource_name,
        media_type as document_media_type,
        title as document_title,
        publisher as document_publisher,
        language as document_language,
        published_on as document_published_on,
        body_text as document_text,
        length(body_text) as document_char_count,
        jsonb_array_length(facts) as document_fact_count,
        loaded_at
    from source
)

select * from renamed
