with source as (
    select * from {{ source('funding', 'funding_operation') }}
),

renamed as (
    select
        source_id || ':' || operation_key as operation_id,
        source_id,
        load_id,
        operation_key,
        beneficiary_name,
        operation_title,
        operation_summary,
        start_date as operation_start_date,
        end_date as operation_end_date,
        amount as amount_original,
        upper(currency) as currency_code,
        cofinancing_rate as cofinancing_rate_pct,
        location_code,
        location_name,
        city_name,
        geonames_id,
        upper(country_code) as country_code,
        upper(trim(fund)) as fund_published,
        programme as operational_programme,
        theme as operation_theme,
        loaded_at
    from source
)

select * from renamed
