-- The facts array of each collected document, one row per fact, with the attributes that facts of several
-- kinds share as typed columns. An event's title, date precision and city fill name, precision, geonames_id
-- and country_code; every kind's attributes stay whole in `attributes`.
with source as (
    select * from {{ source('reports', 'report_document') }}
),

facts as (
    select
        source.source_id,
        source.document_id,
        fact.fact_index,
        fact.record
    from source
    cross join lateral jsonb_array_elements(source.facts) with ordinality as fact (record, fact_index)
),

renamed as (
    select
        document_id || ':' || fact_index as fact_id,
        source_id,
        document_id,
        fact_index::integer as fact_index,
        record ->> 'kind' as kind,
        record ->> 'text' as text,
        (record ->> 'start')::integer as start_offset,
        (record ->> 'end')::integer as end_offset,
        record ->> 'sentence' as sentence,
        case when record ->> 'kind' = 'event' then record ->> 'title' else record ->> 'name' end as name,
        case when record ->> 'kind' = 'event' then record ->> 'city_country_code'
            else record ->> 'country_code'
        end as country_code,
        (case when record ->> 'kind' = 'event' then record ->> 'city_geonames_id'
            else record ->> 'geonames_id'
        end)::bigint as geonames_id,
        (record ->> 'start_date')::date as start_date,
        (record ->> 'end_date')::date as end_date,
        coalesce(record ->> 'precision', record ->> 'date_precision') as precision,
        (record ->> 'amount')::numeric as amount,
        record ->> 'currency' as currency,
        (record ->> 'value')::numeric as value,
        record ->> 'unit' as unit,
        record ->> 'qualifier' as qualifier,
        record ->> 'code' as code,
        record - array['doc', 'kind', 'text', 'start', 'end', 'sentence'] as attributes
    from facts
)

select * from renamed
