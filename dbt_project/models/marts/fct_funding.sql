with operations as (
    select * from {{ ref('stg_funding__operations') }}
)

select
    operation_id,
    source_id,
    beneficiary_name,
    operation_title,
    operation_start_date,
    operation_end_date,
    extract(year from operation_start_date)::int as start_year,
    amount_original,
    currency_code,
    case when currency_code = 'EUR' then amount_original end as amount_eur,
    case when currency_code <> 'EUR' then 'no reference rate table yet for ' || currency_code end
        as amount_eur_missing_reason,
    cofinancing_rate_pct,
    fund_code,
    location_code,
    location_name,
    country_code,
    operation_theme
from operations
