-- Facts of each document's kept copy, with the Eurostat geo code of a city's (or an event city's) country.
with facts as (
    select * from {{ ref('stg_reports__facts') }}
),

documents as (
    select
        document_id,
        source_id
    from {{ ref('int_report_documents_deduplicated') }}
),

countries as (
    select * from {{ ref('int_geo_countries_by_iso_alpha2') }}
)

select
    facts.fact_id,
    facts.document_id,
    facts.fact_index,
    facts.kind,
    facts.text,
    facts.start_offset,
    facts.end_offset,
    facts.sentence,
    facts.name,
    facts.country_code,
    facts.geonames_id,
    countries.geo_code,
    facts.start_date,
    facts.end_date,
    facts.precision,
    facts.amount,
    facts.currency,
    facts.value,
    facts.unit,
    facts.qualifier,
    facts.code,
    facts.attributes
from facts
inner join documents
    on facts.document_id = documents.document_id
    and facts.source_id = documents.source_id
left join countries on facts.country_code = countries.iso_alpha2
