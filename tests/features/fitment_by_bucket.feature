Feature: Fitment recompute runs incrementally by bucket
  The vehicle data provider's variants and the ERP catalogue reach vehicle-data, whose fitment reaches
  the webshop over the broker: a dealer picks a vehicle and sees the tyres and wheels that fit. A rule
  change recomputes only the bucket intersections it touches, as vehicle-data's recompute counters and
  rows show. (How fast is measured by the fitment benchmark in loadtests/; the waits only bound a
  broken flow.)

  Background:
    Given the ERP catalogue holds tyres in 205/55 R16 and 225/45 R17 and wheels for 5x112
    And the vehicle data provider lists a Golf on 205/55 R16 (optional 225/45 R17) and an A3 on 225/45 R17
    And the storefront shows fitting tyres for both within 20 seconds

  Scenario: A dealer picks a vehicle and sees what fits
    When the dealer picks make "Volkswagen", model "Golf", year 2021 and the first variant
    Then the storefront lists its 205/55 R16 tyres with match score 100 before its 225/45 R17 tyres with 90
    And the storefront lists the hub-centric OE-size wheel with match score 100 first
    And every listed article carries its availability

  Scenario: Fitment recompute runs incrementally by bucket
    Given a fitment rule change only affects tyre bucket "225:45:17:both"
    When fitment recompute is triggered
    Then only product and vehicle records in that bucket are recomputed
    And the storefront no longer lists 225/45 R17 tyres for the Golf within 30 seconds
    And the storefront still lists 225/45 R17 tyres for the Audi

  Scenario: An operator recomputes one tyre bucket
    When an operator recomputes tyre bucket "225:45:17:both"
    Then only the tyre rows of bucket "225:45:17:both" were recomputed, 2 of them, and nothing was rewritten
