"""DICOM PS3.15 Annex E, Table E.1-1: the Basic Application Level Confidentiality Profile and four of its options.

A module constant because no maintained package that carries the table is installed (pydicom ships no
confidentiality profile; dicognito and pydicom/deid are not dependencies): see docs/adr/0012. Keys are pydicom
keywords (a test checks each one against pydicom's data dictionary). Codes are the standard's:

- ``D`` replace with a non-zero-length dummy value; ``Z`` replace with a zero-length value (or a dummy);
  ``X`` remove; ``K`` keep; ``C`` clean (keep, with identifying content replaced); ``U`` replace the UID with a
  non-identifying one, consistently within the set of instances;
- composite codes (``Z/D``, ``X/Z``, ``X/D``, ``X/Z/D``, ``X/Z/U*``) are kept as printed and resolved by
  ``basic_action``: the attribute goes (``X``) unless the code's first choice is ``Z``; ``U*`` sequences stay and
  have their UIDs replaced.

Transcribed from PS3.15 Table E.1-1 (editions 2023-2025, which agree on these rows); rows for retired curve and
overlay attributes and for attributes no imaging IOD uses are left out, and instance UIDs are replaced whatever
their keyword (every UI value that is not a UID the standard itself defines), so a UID row missing here leaks
nothing. Private attributes are removed unless safe-listed, outside this table.
"""

from __future__ import annotations

from typing import Final

PROFILE_REVISION: Final = "DICOM PS3.15 Annex E Table E.1-1 (2023-2025 editions)"

# Basic Profile column: keyword -> action code.
BASIC: Final[dict[str, str]] = {
    "AccessionNumber": "Z",
    "AcquisitionComments": "X",
    "AcquisitionContextSequence": "X",
    "AcquisitionDate": "X/Z",
    "AcquisitionDateTime": "X/D",
    "AcquisitionDeviceProcessingDescription": "X/D",
    "AcquisitionProtocolDescription": "X",
    "AcquisitionTime": "X/Z",
    "AcquisitionUID": "U",
    "ActualHumanPerformersSequence": "X",
    "AdditionalPatientHistory": "X",
    "AdmissionID": "X",
    "AdmittingDate": "X",
    "AdmittingDiagnosesCodeSequence": "X",
    "AdmittingDiagnosesDescription": "X",
    "AdmittingTime": "X",
    "AffectedSOPInstanceUID": "X",
    "Allergies": "X",
    "AuthorObserverSequence": "X",
    "BranchOfService": "X",
    "CassetteID": "X",
    "CommentsOnThePerformedProcedureStep": "X",
    "ConcatenationUID": "U",
    "ConfidentialityConstraintOnPatientDataDescription": "X",
    "ContentCreatorIdentificationCodeSequence": "X",
    "ContentCreatorName": "Z",
    "ContentDate": "Z/D",
    "ContentSequence": "X",
    "ContentTime": "Z/D",
    "ContextGroupExtensionCreatorUID": "U",
    "ContrastBolusAgent": "Z/D",
    "ContributionDescription": "X",
    "CountryOfResidence": "X",
    "CreatorVersionUID": "U",
    "CurrentPatientLocation": "X",
    "CustodialOrganizationSequence": "X",
    "DataSetTrailingPadding": "X",
    "DateOfLastCalibration": "X",
    "DateOfLastDetectorCalibration": "X",
    "DateOfSecondaryCapture": "X",
    "DateTime": "X",
    "Date": "X",
    "DerivationDescription": "X",
    "DetectorID": "X",
    "DeviceSerialNumber": "X/Z/D",
    "DeviceUID": "U",
    "DigitalSignatureUID": "X",
    "DigitalSignaturesSequence": "X",
    "DimensionOrganizationUID": "U",
    "DischargeDiagnosisDescription": "X",
    "DistributionAddress": "X",
    "DistributionName": "X",
    "DoseReferenceUID": "U",
    "EndAcquisitionDateTime": "X/D",
    "EthnicGroup": "X",
    "FailedSOPInstanceUIDList": "U",
    "FiducialUID": "U",
    "FillerOrderNumberImagingServiceRequest": "Z",
    "FrameComments": "X",
    "FrameOfReferenceUID": "U",
    "GantryID": "X",
    "GeneratorID": "X",
    "GraphicAnnotationSequence": "D",
    "HumanPerformerName": "X",
    "HumanPerformerOrganization": "X",
    "IconImageSequence": "X",
    "IdentifyingComments": "X",
    "ImageComments": "X",
    "ImagePresentationComments": "X",
    "ImagingServiceRequestComments": "X",
    "Impressions": "X",
    "InstanceCoercionDateTime": "X",
    "InstanceCreationDate": "X/D",
    "InstanceCreationTime": "X/Z/D",
    "InstanceCreatorUID": "U",
    "InstitutionAddress": "X",
    "InstitutionCodeSequence": "X/Z/D",
    "InstitutionName": "X/Z/D",
    "InstitutionalDepartmentName": "X",
    "InsurancePlanIdentification": "X",
    "IntendedRecipientsOfResultsIdentificationSequence": "X",
    "InterpretationApproverSequence": "X",
    "InterpretationAuthor": "X",
    "InterpretationDiagnosisDescription": "X",
    "InterpretationIDIssuer": "X",
    "InterpretationRecorder": "X",
    "InterpretationText": "X",
    "InterpretationTranscriber": "X",
    "IrradiationEventUID": "U",
    "IssuerOfAdmissionID": "X",
    "IssuerOfPatientID": "X",
    "IssuerOfServiceEpisodeID": "X",
    "LargePaletteColorLookupTableUID": "U",
    "LastMenstrualDate": "X",
    "MAC": "X",
    "MediaStorageSOPInstanceUID": "U",
    "MedicalAlerts": "X",
    "MedicalRecordLocator": "X",
    "MilitaryRank": "X",
    "ModifiedAttributesSequence": "X",
    "ModifiedImageDescription": "X",
    "ModifyingDeviceID": "X",
    "NameOfPhysiciansReadingStudy": "X",
    "NamesOfIntendedRecipientsOfResults": "X",
    "Occupation": "X",
    "OperatorIdentificationSequence": "X",
    "OperatorsName": "X/Z/D",
    "OrderCallbackPhoneNumber": "X",
    "OrderEnteredBy": "X",
    "OrderEntererLocation": "X",
    "OriginalAttributesSequence": "X",
    "OtherPatientIDs": "X",
    "OtherPatientIDsSequence": "X",
    "OtherPatientNames": "X",
    "ParticipantSequence": "X",
    "PatientAddress": "X",
    "PatientAge": "X",
    "PatientBirthDate": "Z",
    "PatientBirthName": "X",
    "PatientBirthTime": "X",
    "PatientComments": "X",
    "PatientID": "Z",
    "PatientInstitutionResidence": "X",
    "PatientInsurancePlanCodeSequence": "X",
    "PatientMotherBirthName": "X",
    "PatientName": "Z",
    "PatientPrimaryLanguageCodeSequence": "X",
    "PatientPrimaryLanguageModifierCodeSequence": "X",
    "PatientReligiousPreference": "X",
    "PatientSex": "Z",
    "PatientSexNeutered": "X/Z",
    "PatientSize": "X",
    "PatientState": "X",
    "PatientTelecomInformation": "X",
    "PatientTelephoneNumbers": "X",
    "PatientTransportArrangements": "X",
    "PatientWeight": "X",
    "PerformedLocation": "X",
    "PerformedProcedureStepDescription": "X",
    "PerformedProcedureStepEndDate": "X",
    "PerformedProcedureStepEndTime": "X",
    "PerformedProcedureStepID": "X",
    "PerformedProcedureStepStartDate": "X",
    "PerformedProcedureStepStartTime": "X",
    "PerformedStationAETitle": "X",
    "PerformedStationGeographicLocationCodeSequence": "X",
    "PerformedStationName": "X",
    "PerformedStationNameCodeSequence": "X",
    "PerformingPhysicianIdentificationSequence": "X",
    "PerformingPhysicianName": "X",
    "PersonAddress": "X",
    "PersonIdentificationCodeSequence": "D",
    "PersonName": "D",
    "PersonTelecomInformation": "X",
    "PersonTelephoneNumbers": "X",
    "PhysicianApprovingInterpretation": "X",
    "PhysiciansOfRecord": "X",
    "PhysiciansOfRecordIdentificationSequence": "X",
    "PhysiciansReadingStudyIdentificationSequence": "X",
    "PlacerOrderNumberImagingServiceRequest": "Z",
    "PlateID": "X",
    "PreMedication": "X",
    "PregnancyStatus": "X",
    "ProtocolName": "X/D",
    "ReasonForStudy": "X",
    "ReasonForTheImagingServiceRequest": "X",
    "ReferencedDigitalSignatureSequence": "X",
    "ReferencedFrameOfReferenceUID": "U",
    "ReferencedImageSequence": "X/Z/U*",
    "ReferencedPatientAliasSequence": "X",
    "ReferencedPatientSequence": "X",
    "ReferencedPerformedProcedureStepSequence": "X/Z/D",
    "ReferencedSOPInstanceMACSequence": "X",
    "ReferencedSOPInstanceUID": "U",
    "ReferencedSOPInstanceUIDInFile": "U",
    "ReferencedStudySequence": "X/Z",
    "ReferringPhysicianAddress": "X",
    "ReferringPhysicianIdentificationSequence": "X",
    "ReferringPhysicianName": "Z",
    "ReferringPhysicianTelephoneNumbers": "X",
    "RegionOfResidence": "X",
    "RelatedFrameOfReferenceUID": "U",
    "RequestAttributesSequence": "X",
    "RequestedContrastAgent": "X",
    "RequestedProcedureComments": "X",
    "RequestedProcedureDescription": "X/Z",
    "RequestedProcedureID": "X",
    "RequestedProcedureLocation": "X",
    "RequestedSOPInstanceUID": "U",
    "RequestingPhysician": "X",
    "RequestingService": "X",
    "ResponsibleOrganization": "X",
    "ResponsiblePerson": "X",
    "ResultsComments": "X",
    "ResultsDistributionListSequence": "X",
    "ResultsIDIssuer": "X",
    "ReviewerName": "X/Z",
    "ScheduledHumanPerformersSequence": "X",
    "ScheduledPatientInstitutionResidence": "X",
    "ScheduledPerformingPhysicianIdentificationSequence": "X",
    "ScheduledPerformingPhysicianName": "X",
    "ScheduledProcedureStepDescription": "X",
    "ScheduledProcedureStepEndDate": "X",
    "ScheduledProcedureStepEndTime": "X",
    "ScheduledProcedureStepID": "X",
    "ScheduledProcedureStepLocation": "X",
    "ScheduledProcedureStepStartDate": "X",
    "ScheduledProcedureStepStartTime": "X",
    "ScheduledStationAETitle": "X",
    "ScheduledStationGeographicLocationCodeSequence": "X",
    "ScheduledStationName": "X",
    "ScheduledStationNameCodeSequence": "X",
    "ScheduledStudyLocation": "X",
    "ScheduledStudyLocationAETitle": "X",
    "SeriesDate": "X/D",
    "SeriesDescription": "X",
    "SeriesInstanceUID": "U",
    "SeriesTime": "X/D",
    "ServiceEpisodeDescription": "X",
    "ServiceEpisodeID": "X",
    "SmokingStatus": "X",
    "SOPInstanceUID": "U",
    "SourceImageSequence": "X/Z/U*",
    "SpecialNeeds": "X",
    "StartAcquisitionDateTime": "X/D",
    "StationName": "X/Z/D",
    "StorageMediaFileSetUID": "U",
    "StudyArrivalDate": "X",
    "StudyArrivalTime": "X",
    "StudyComments": "X",
    "StudyDate": "Z",
    "StudyDescription": "X",
    "StudyID": "Z",
    "StudyIDIssuer": "X",
    "StudyInstanceUID": "U",
    "StudyTime": "Z",
    "SynchronizationFrameOfReferenceUID": "U",
    "TemplateExtensionCreatorUID": "U",
    "TemplateExtensionOrganizationUID": "U",
    "TextComments": "X",
    "TextString": "X",
    "Time": "X",
    "TimeOfLastCalibration": "X",
    "TimeOfSecondaryCapture": "X",
    "TimezoneOffsetFromUTC": "X",
    "TopicAuthor": "X",
    "TopicKeywords": "X",
    "TopicSubject": "X",
    "TopicTitle": "X",
    "TransactionUID": "U",
    "UID": "U",
    "VerifyingObserverIdentificationCodeSequence": "Z",
    "VerifyingObserverName": "D",
    "VerifyingObserverSequence": "D",
    "VerifyingOrganization": "X",
    "VisitComments": "X",
}

# Option columns: keyword -> the action that replaces the Basic Profile's when the option is chosen.
# Retain Longitudinal Temporal Information with Modified Dates (113107): dates and times are kept, shifted.
# (PatientBirthDate stays ``Z``: the age is what Retain Patient Characteristics keeps.)
LONG_MODIFIED_DATES: Final[dict[str, str]] = dict.fromkeys(
    (
        "AcquisitionDate", "AcquisitionDateTime", "AcquisitionTime", "AdmittingDate", "AdmittingTime", "ContentDate",
        "ContentTime", "DateOfLastCalibration", "DateOfLastDetectorCalibration", "DateOfSecondaryCapture",
        "DateTime", "Date", "EndAcquisitionDateTime", "InstanceCoercionDateTime", "InstanceCreationDate",
        "InstanceCreationTime", "LastMenstrualDate", "PerformedProcedureStepEndDate",
        "PerformedProcedureStepEndTime", "PerformedProcedureStepStartDate", "PerformedProcedureStepStartTime",
        "ScheduledProcedureStepEndDate", "ScheduledProcedureStepEndTime", "ScheduledProcedureStepStartDate",
        "ScheduledProcedureStepStartTime", "SeriesDate", "SeriesTime", "StartAcquisitionDateTime",
        "StudyArrivalDate", "StudyArrivalTime", "StudyDate", "StudyTime", "Time", "TimeOfLastCalibration",
        "TimeOfSecondaryCapture",
    ),
    "C",
)
# Retain Patient Characteristics (113108).
PATIENT_CHARACTERISTICS: Final[dict[str, str]] = {
    "PatientAge": "K", "PatientSex": "K", "PatientSize": "K", "PatientWeight": "K", "EthnicGroup": "K",
    "SmokingStatus": "K", "PregnancyStatus": "K", "PatientSexNeutered": "K", "LastMenstrualDate": "K",
    "Allergies": "C", "MedicalAlerts": "C", "AdditionalPatientHistory": "C", "Occupation": "C",
    "PatientState": "C", "SpecialNeeds": "C", "PreMedication": "C",
}
# Clean Descriptors (113105): free-text descriptions stay, cleaned of identifying content.
CLEAN_DESCRIPTORS: Final[dict[str, str]] = dict.fromkeys(
    (
        "AcquisitionComments", "AcquisitionDeviceProcessingDescription", "AcquisitionProtocolDescription",
        "AdditionalPatientHistory", "AdmittingDiagnosesDescription", "ContrastBolusAgent", "ContributionDescription",
        "DerivationDescription", "DischargeDiagnosisDescription", "FrameComments", "IdentifyingComments",
        "ImageComments", "ImagePresentationComments", "ImagingServiceRequestComments", "Impressions",
        "InterpretationDiagnosisDescription", "InterpretationText", "ModifiedImageDescription", "PatientComments",
        "PerformedProcedureStepDescription", "ProtocolName", "ReasonForStudy", "ReasonForTheImagingServiceRequest",
        "RequestedContrastAgent", "RequestedProcedureComments", "RequestedProcedureDescription", "ResultsComments",
        "ScheduledProcedureStepDescription", "SeriesDescription", "ServiceEpisodeDescription", "StudyComments",
        "StudyDescription", "TextComments", "VisitComments",
    ),
    "C",
)
# Retain Device Identity (113109).
DEVICE_IDENTITY: Final[dict[str, str]] = dict.fromkeys(
    (
        "CassetteID", "DetectorID", "DeviceSerialNumber", "DeviceUID", "GantryID", "GeneratorID",
        "ModifyingDeviceID", "PerformedStationAETitle", "PerformedStationGeographicLocationCodeSequence",
        "PerformedStationName", "PerformedStationNameCodeSequence", "PlateID", "ScheduledStationAETitle",
        "ScheduledStationGeographicLocationCodeSequence", "ScheduledStationName", "ScheduledStationNameCodeSequence",
        "ScheduledStudyLocationAETitle", "StationName",
    ),
    "K",
)

OPTIONS: Final[dict[str, dict[str, str]]] = {
    "retain_long_modified_dates": LONG_MODIFIED_DATES,
    "retain_patient_chars": PATIENT_CHARACTERISTICS,
    "clean_descriptors": CLEAN_DESCRIPTORS,
    "retain_device_identity": DEVICE_IDENTITY,
}
# CID 7050 "De-identification Method" codes (coding scheme DCM) of the profile and each option.
PROFILE_CODE: Final = ("113100", "Basic Application Confidentiality Profile")
CLEAN_PIXEL_DATA_CODE: Final = ("113101", "Clean Pixel Data Option")
OPTION_CODES: Final[dict[str, tuple[str, str]]] = {
    "clean_descriptors": ("113105", "Clean Descriptors Option"),
    "retain_long_modified_dates": ("113107", "Retain Longitudinal Temporal Information Modified Dates Option"),
    "retain_patient_chars": ("113108", "Retain Patient Characteristics Option"),
    "retain_device_identity": ("113109", "Retain Device Identity Option"),
}
SAFE_PRIVATE_CODE: Final = ("113111", "Retain Safe Private Option")


def basic_action(code: str) -> str:
    """The single action a (possibly composite) Basic Profile code resolves to: ``D``, ``Z``, ``X``, ``K``,
    ``C`` or ``U``.

    ``X/...`` removes (these attributes are type 3 in the image IODs, or type 1/2 only where the file would then
    be non-conformant but carries no identity); ``Z/D`` empties; ``X/Z/U*`` keeps a reference sequence with its
    UIDs replaced.
    """
    if code.endswith("U*"):
        return "U"
    return code.split("/", maxsplit=1)[0]


def actions(options: list[str]) -> dict[str, str]:
    """Keyword -> resolved action for the Basic Profile with ``options`` applied (in the order given)."""
    table = {k: basic_action(v) for k, v in BASIC.items()}
    for option in options:
        table.update(OPTIONS[option])
    return table
