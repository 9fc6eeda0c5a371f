"""DICOM PS3.15 Annex E, Table E.1-1: the Basic Application Level Confidentiality Profile and its option columns.

Checked row by row against PS3.15 **2026d** Table E.1-1 (part15/chapter_E.html) as pymedphys parses it into
``lib/pymedphys/_dicom/deidentify/_standard/e1_1.json`` (content sha256 e257bc5e...), and against the older edition
in innolitics/dicom-standard ``standard/confidentiality_profile_attributes.json``; see docs/dicom.md. Every row
of the table with a fixed tag is here (653). The four rows with a pattern instead of a tag are applied in
``deid/dicom.py`` by code: curves (50xx,xxxx) and overlays (60xx,3000 / 60xx,4000) are removed, private attributes
(gggg odd) are removed unless the spec safe-lists them (Retain Safe Private, ``C``).

One line per row: tag, the Basic Profile code as printed (``D`` dummy, ``Z`` zero-length, ``X`` remove, ``K``
keep, ``C`` clean, ``U`` replace UID; composite ``Z/D``, ``X/Z``, ``X/D``, ``X/Z/D``, ``X/Z/U*``), the option
columns that name the row (``uid`` Retain UIDs, ``dev`` Retain Device Identity, ``inst`` Retain Institution
Identity, ``pat`` Retain Patient Characteristics, ``dates`` = Retain Longitudinal Temporal Information with Full
Dates ``K`` and with Modified Dates ``C`` (the two columns agree on that pair in every row), ``desc`` Clean
Descriptors, ``struct`` Clean Structured Content, ``graph`` Clean Graphics), and the keyword (pydicom's; for the
26 attributes newer than pydicom's dictionary, the standard's name run together). Lookups go by tag.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

PROFILE_REVISION: Final = "DICOM PS3.15 Annex E Table E.1-1 (2026d)"

_TABLE: Final = """
0000,1000 X      uid=K        AffectedSOPInstanceUID
0000,1001 U      uid=K        RequestedSOPInstanceUID
0002,0003 U      uid=K        MediaStorageSOPInstanceUID
0004,1511 U      uid=K        ReferencedSOPInstanceUIDInFile
0008,0012 X/D    dates        InstanceCreationDate
0008,0013 X/Z/D  dates        InstanceCreationTime
0008,0014 U      uid=K        InstanceCreatorUID
0008,0015 X      dates        InstanceCoercionDateTime
0008,0017 U      uid=K        AcquisitionUID
0008,0018 U      uid=K        SOPInstanceUID
0008,0019 U      uid=K        PyramidUID
0008,0020 Z      dates        StudyDate
0008,0021 X/D    dates        SeriesDate
0008,0022 X/Z    dates        AcquisitionDate
0008,0023 Z/D    dates        ContentDate
0008,0024 X      dates        OverlayDate
0008,0025 X      dates        CurveDate
0008,002A X/Z/D  dates        AcquisitionDateTime
0008,0030 Z      dates        StudyTime
0008,0031 X/D    dates        SeriesTime
0008,0032 X/Z    dates        AcquisitionTime
0008,0033 Z/D    dates        ContentTime
0008,0034 X      dates        OverlayTime
0008,0035 X      dates        CurveTime
0008,0050 Z                   AccessionNumber
0008,0054 X      dev=C        RetrieveAETitle
0008,0055 X      dev=C        StationAETitle
0008,0058 U      uid=K        FailedSOPInstanceUIDList
0008,0080 X/Z/D  inst=K       InstitutionName
0008,0081 X      inst=K       InstitutionAddress
0008,0082 X/Z/D  inst=K       InstitutionCodeSequence
0008,0090 Z                   ReferringPhysicianName
0008,0092 X                   ReferringPhysicianAddress
0008,0094 X                   ReferringPhysicianTelephoneNumbers
0008,0096 X                   ReferringPhysicianIdentificationSequence
0008,009C Z                   ConsultingPhysicianName
0008,009D X                   ConsultingPhysicianIdentificationSequence
0008,0106 D      dates        ContextGroupVersion
0008,0107 D      dates        ContextGroupLocalVersion
0008,0201 X      dates        TimezoneOffsetFromUTC
0008,1000 X      dev=C        NetworkID
0008,1010 X/Z/D  dev=K        StationName
0008,1030 X      desc=C       StudyDescription
0008,103E X      desc=C       SeriesDescription
0008,1040 X      inst=K       InstitutionalDepartmentName
0008,1041 X      inst=K       InstitutionalDepartmentTypeCodeSequence
0008,1048 X                   PhysiciansOfRecord
0008,1049 X                   PhysiciansOfRecordIdentificationSequence
0008,1050 X                   PerformingPhysicianName
0008,1052 X                   PerformingPhysicianIdentificationSequence
0008,1060 X                   NameOfPhysiciansReadingStudy
0008,1062 X                   PhysiciansReadingStudyIdentificationSequence
0008,1070 X/Z/D               OperatorsName
0008,1072 X/D                 OperatorIdentificationSequence
0008,1080 X      desc=C       AdmittingDiagnosesDescription
0008,1084 X      desc=C       AdmittingDiagnosesCodeSequence
0008,1088 X      desc=C       PyramidDescription
0008,1110 X/Z    uid=K        ReferencedStudySequence
0008,1111 X/Z/D  uid=K        ReferencedPerformedProcedureStepSequence
0008,1120 X      uid=K        ReferencedPatientSequence
0008,1140 X/Z/U* uid=K        ReferencedImageSequence
0008,1155 U      uid=K        ReferencedSOPInstanceUID
0008,1195 U      uid=K        TransactionUID
0008,1301 X      desc=C       PrincipalDiagnosisCodeSequence
0008,1302 X      desc=C       PrimaryDiagnosisCodeSequence
0008,1303 X      desc=C       SecondaryDiagnosesCodeSequence
0008,1304 X      desc=C       HistologicalDiagnosesCodeSequence
0008,2111 X      desc=C       DerivationDescription
0008,2112 X/Z/U* uid=K        SourceImageSequence
0008,3010 U      uid=K        IrradiationEventUID
0008,4000 X      desc=C       IdentifyingComments
0010,0010 Z                   PatientName
0010,0011 X                   PersonNamesToUseSequence
0010,0012 X                   NameToUse
0010,0013 X                   NameToUseComment
0010,0014 X                   ThirdPersonPronounsSequence
0010,0015 X                   PronounCodeSequence
0010,0016 X      desc=C       PronounComment
0010,0020 Z/D                 PatientID
0010,0021 X                   IssuerOfPatientID
0010,0030 Z                   PatientBirthDate
0010,0032 X                   PatientBirthTime
0010,0040 Z      pat=K        PatientSex
0010,0041 X                   GenderIdentitySequence
0010,0042 X      pat=C desc=C SexParametersForClinicalUseCategoryComment
0010,0043 X      pat=K        SexParametersForClinicalUseCategorySequence
0010,0044 X                   GenderIdentityCodeSequence
0010,0045 X      desc=C       GenderIdentityComment
0010,0046 X      pat=K        SexParametersForClinicalUseCategoryCodeSequence
0010,0047 X      pat=K        SexParametersForClinicalUseCategoryReference
0010,0050 X                   PatientInsurancePlanCodeSequence
0010,0101 X                   PatientPrimaryLanguageCodeSequence
0010,0102 X                   PatientPrimaryLanguageModifierCodeSequence
0010,1000 X                   OtherPatientIDs
0010,1001 X                   OtherPatientNames
0010,1002 X                   OtherPatientIDsSequence
0010,1005 X                   PatientBirthName
0010,1010 X      pat=K        PatientAge
0010,1020 X      pat=K        PatientSize
0010,1030 X      pat=K        PatientWeight
0010,1040 X                   PatientAddress
0010,1050 X                   InsurancePlanIdentification
0010,1060 X                   PatientMotherBirthName
0010,1080 X                   MilitaryRank
0010,1081 X                   BranchOfService
0010,1090 X                   MedicalRecordLocator
0010,1100 X                   ReferencedPatientPhotoSequence
0010,2000 X      desc=C       MedicalAlerts
0010,2110 X      pat=C desc=C Allergies
0010,2150 X                   CountryOfResidence
0010,2152 X                   RegionOfResidence
0010,2154 X                   PatientTelephoneNumbers
0010,2155 X                   PatientTelecomInformation
0010,2160 X      pat=K        EthnicGroup
0010,2161 X      pat=K        EthnicGroupCodeSequence
0010,2162 X      pat=K        EthnicGroups
0010,2180 X      desc=C       Occupation
0010,21A0 X      pat=K        SmokingStatus
0010,21B0 X      desc=C       AdditionalPatientHistory
0010,21C0 X      pat=K        PregnancyStatus
0010,21D0 X      dates        LastMenstrualDate
0010,21F0 X                   PatientReligiousPreference
0010,2203 X/Z    pat=K        PatientSexNeutered
0010,2297 X                   ResponsiblePerson
0010,2299 X                   ResponsibleOrganization
0010,4000 X      desc=C       PatientComments
0012,0010 D                   ClinicalTrialSponsorName
0012,0020 D                   ClinicalTrialProtocolID
0012,0021 Z                   ClinicalTrialProtocolName
0012,0022 X                   IssuerOfClinicalTrialProtocolID
0012,0023 X                   OtherClinicalTrialProtocolIDsSequence
0012,0030 Z      inst=K       ClinicalTrialSiteID
0012,0031 Z      inst=K       ClinicalTrialSiteName
0012,0032 X                   IssuerOfClinicalTrialSiteID
0012,0040 D                   ClinicalTrialSubjectID
0012,0041 X                   IssuerOfClinicalTrialSubjectID
0012,0042 D                   ClinicalTrialSubjectReadingID
0012,0043 X                   IssuerOfClinicalTrialSubjectReadingID
0012,0050 Z                   ClinicalTrialTimePointID
0012,0051 X      desc=C       ClinicalTrialTimePointDescription
0012,0055 X                   IssuerOfClinicalTrialTimePointID
0012,0060 Z      inst=K       ClinicalTrialCoordinatingCenterName
0012,0071 X                   ClinicalTrialSeriesID
0012,0072 X      desc=C       ClinicalTrialSeriesDescription
0012,0073 X                   IssuerOfClinicalTrialSeriesID
0012,0081 D      inst=K       ClinicalTrialProtocolEthicsCommitteeName
0012,0082 X                   ClinicalTrialProtocolEthicsCommitteeApprovalNumber
0012,0086 X      dates        EthicsCommitteeApprovalEffectivenessStartDate
0012,0087 X      dates        EthicsCommitteeApprovalEffectivenessEndDate
0014,407C X      dev=K dates  CalibrationTime
0014,407E X      dev=K dates  CalibrationDate
0016,002B X      desc=C       MakerNote
0016,004B X      desc=C       DeviceSettingDescription
0016,004D X                   CameraOwnerName
0016,004E X      dev=K        LensSpecification
0016,004F X      dev=K        LensMake
0016,0050 X      dev=K        LensModel
0016,0051 X      dev=K        LensSerialNumber
0016,0070 X                   GPSVersionID
0016,0071 X                   GPSLatitudeRef
0016,0072 X                   GPSLatitude
0016,0073 X                   GPSLongitudeRef
0016,0074 X                   GPSLongitude
0016,0075 X                   GPSAltitudeRef
0016,0076 X                   GPSAltitude
0016,0077 X                   GPSTimeStamp
0016,0078 X                   GPSSatellites
0016,0079 X                   GPSStatus
0016,007A X                   GPSMeasureMode
0016,007B X                   GPSDOP
0016,007C X                   GPSSpeedRef
0016,007D X                   GPSSpeed
0016,007E X                   GPSTrackRef
0016,007F X                   GPSTrack
0016,0080 X                   GPSImgDirectionRef
0016,0081 X                   GPSImgDirection
0016,0082 X                   GPSMapDatum
0016,0083 X                   GPSDestLatitudeRef
0016,0084 X                   GPSDestLatitude
0016,0085 X                   GPSDestLongitudeRef
0016,0086 X                   GPSDestLongitude
0016,0087 X                   GPSDestBearingRef
0016,0088 X                   GPSDestBearing
0016,0089 X                   GPSDestDistanceRef
0016,008A X                   GPSDestDistance
0016,008B X                   GPSProcessingMethod
0016,008C X                   GPSAreaInformation
0016,008D X      dates        GPSDateStamp
0016,008E X                   GPSDifferential
0018,0010 Z/D    desc=C       ContrastBolusAgent
0018,0027 X      dates        InterventionDrugStopTime
0018,0035 X      dates        InterventionDrugStartTime
0018,1000 X/Z/D  dev=K        DeviceSerialNumber
0018,1002 U      uid=K dev=K  DeviceUID
0018,1004 X      dev=K        PlateID
0018,1005 X      dev=K        GeneratorID
0018,1007 X      dev=K        CassetteID
0018,1008 X      dev=K        GantryID
0018,1009 X      dev=K        UniqueDeviceIdentifier
0018,100A X      dev=K        UDISequence
0018,100B U      uid=K dev=K  ManufacturerDeviceClassUID
0018,1010 X      dev=K        SecondaryCaptureDeviceID
0018,1011 X      dev=K        HardcopyCreationDeviceID
0018,1012 X      dates        DateOfSecondaryCapture
0018,1014 X      dates        TimeOfSecondaryCapture
0018,1030 X/D    desc=C       ProtocolName
0018,1042 X      dates        ContrastBolusStartTime
0018,1043 X      dates        ContrastBolusStopTime
0018,1072 X      dates        RadiopharmaceuticalStartTime
0018,1073 X      dates        RadiopharmaceuticalStopTime
0018,1078 X      dates        RadiopharmaceuticalStartDateTime
0018,1079 X      dates        RadiopharmaceuticalStopDateTime
0018,11BB D      desc=C       AcquisitionFieldOfViewLabel
0018,1200 X      dev=K dates  DateOfLastCalibration
0018,1201 X      dev=K dates  TimeOfLastCalibration
0018,1202 X      dev=K dates  DateTimeOfLastCalibration
0018,1203 Z      dev=K dates  CalibrationDateTime
0018,1204 X      dev=K dates  DateOfManufacture
0018,1205 X      dev=K dates  DateOfInstallation
0018,1400 X/D    desc=C       AcquisitionDeviceProcessingDescription
0018,2042 U      uid=K        TargetUID
0018,4000 X      desc=C       AcquisitionComments
0018,5011 X      dev=K        TransducerIdentificationSequence
0018,700A X/D    dev=K        DetectorID
0018,700C X/D    dev=K dates  DateOfLastDetectorCalibration
0018,700E X/D    dev=K dates  TimeOfLastDetectorCalibration
0018,9074 D      dates        FrameAcquisitionDateTime
0018,9151 D      dates        FrameReferenceDateTime
0018,9185 X      desc=C       RespiratoryMotionCompensationTechniqueDescription
0018,9367 D      dev=K        XRaySourceID
0018,9369 D      dates        SourceStartDateTime
0018,936A D      dates        SourceEndDateTime
0018,9371 D      dev=K        XRayDetectorID
0018,9373 X      dev=K        XRayDetectorLabel
0018,937B X      desc=C       MultienergyAcquisitionDescription
0018,937F X      desc=C       DecompositionDescription
0018,9424 X      desc=C       AcquisitionProtocolDescription
0018,9516 X/D    dates        StartAcquisitionDateTime
0018,9517 X/D    dates        EndAcquisitionDateTime
0018,9623 D      dates        FunctionalSyncPulse
0018,9701 D      dates        DecayCorrectionDateTime
0018,9804 D      dates        ExclusionStartDateTime
0018,9919 Z/D    dates        InstructionPerformedDateTime
0018,9937 X      desc=C       RequestedSeriesDescription
0018,A002 X      dates        ContributionDateTime
0018,A003 X      desc=C       ContributionDescription
0020,000D U      uid=K        StudyInstanceUID
0020,000E U      uid=K        SeriesInstanceUID
0020,0010 Z                   StudyID
0020,0027 X      desc=C       PyramidLabel
0020,0052 U      uid=K        FrameOfReferenceUID
0020,0200 U      uid=K        SynchronizationFrameOfReferenceUID
0020,3401 X      dev=K        ModifyingDeviceID
0020,3403 X      dates        ModifiedImageDate
0020,3405 X      dates        ModifiedImageTime
0020,3406 X                   ModifiedImageDescription
0020,4000 X      desc=C       ImageComments
0020,9158 X      desc=C       FrameComments
0020,9161 U      uid=K        ConcatenationUID
0020,9164 U      uid=K        DimensionOrganizationUID
0028,1199 U      uid=K        PaletteColorLookupTableUID
0028,1214 U      uid=K        LargePaletteColorLookupTableUID
0028,4000 X                   ImagePresentationComments
0032,0012 X                   StudyIDIssuer
0032,0032 X      dates        StudyVerifiedDate
0032,0033 X      dates        StudyVerifiedTime
0032,0034 X      dates        StudyReadDate
0032,0035 X      dates        StudyReadTime
0032,1000 X      dates        ScheduledStudyStartDate
0032,1001 X      dates        ScheduledStudyStartTime
0032,1010 X      dates        ScheduledStudyStopDate
0032,1011 X      dates        ScheduledStudyStopTime
0032,1020 X      dev=K        ScheduledStudyLocation
0032,1021 X      dev=C        ScheduledStudyLocationAETitle
0032,1030 X      desc=C       ReasonForStudy
0032,1032 X                   RequestingPhysician
0032,1033 X      desc=C       RequestingService
0032,1040 X      dates        StudyArrivalDate
0032,1041 X      dates        StudyArrivalTime
0032,1050 X      dates        StudyCompletionDate
0032,1051 X      dates        StudyCompletionTime
0032,1060 X/Z    desc=C       RequestedProcedureDescription
0032,1066 X      desc=C       ReasonForVisit
0032,1067 X      desc=C       ReasonForVisitCodeSequence
0032,1070 X      desc=C       RequestedContrastAgent
0032,4000 X      desc=C       StudyComments
0034,0001 D                   FlowIdentifierSequence
0034,0002 D                   FlowIdentifier
0034,0005 D                   SourceIdentifier
0034,0007 D      dates        FrameOriginTimestamp
0038,0004 X                   ReferencedPatientAliasSequence
0038,0010 X                   AdmissionID
0038,0011 X                   IssuerOfAdmissionID
0038,0014 X                   IssuerOfAdmissionIDSequence
0038,001A X      dates        ScheduledAdmissionDate
0038,001B X      dates        ScheduledAdmissionTime
0038,001C X      dates        ScheduledDischargeDate
0038,001D X      dates        ScheduledDischargeTime
0038,001E X                   ScheduledPatientInstitutionResidence
0038,0020 X      dates        AdmittingDate
0038,0021 X      dates        AdmittingTime
0038,0030 X      dates        DischargeDate
0038,0032 X      dates        DischargeTime
0038,0040 X      desc=C       DischargeDiagnosisDescription
0038,0050 X      pat=C        SpecialNeeds
0038,0060 X                   ServiceEpisodeID
0038,0061 X                   IssuerOfServiceEpisodeID
0038,0062 X      desc=C       ServiceEpisodeDescription
0038,0064 X                   IssuerOfServiceEpisodeIDSequence
0038,0300 X                   CurrentPatientLocation
0038,0400 X                   PatientInstitutionResidence
0038,0500 X      pat=C desc=C PatientState
0038,4000 X      desc=C       VisitComments
003A,0020 X      desc=C       MultiplexGroupLabel
003A,0203 X      desc=C       ChannelLabel
003A,020C X      desc=C       ChannelDerivationDescription
003A,0310 U      uid=K        MultiplexGroupUID
003A,0314 D      dates        ImpedanceMeasurementDateTime
003A,0329 X      desc=C       WaveformFilterDescription
003A,032B X      desc=C       FilterLookupTableDescription
0040,0001 X      dev=C        ScheduledStationAETitle
0040,0002 X      dates        ScheduledProcedureStepStartDate
0040,0003 X      dates        ScheduledProcedureStepStartTime
0040,0004 X      dates        ScheduledProcedureStepEndDate
0040,0005 X      dates        ScheduledProcedureStepEndTime
0040,0006 X                   ScheduledPerformingPhysicianName
0040,0007 X      desc=C       ScheduledProcedureStepDescription
0040,0009 X                   ScheduledProcedureStepID
0040,000B X                   ScheduledPerformingPhysicianIdentificationSequence
0040,0010 X      dev=K        ScheduledStationName
0040,0011 X      dev=K        ScheduledProcedureStepLocation
0040,0012 X      pat=C        PreMedication
0040,0241 X      dev=C        PerformedStationAETitle
0040,0242 X      dev=K        PerformedStationName
0040,0243 X                   PerformedLocation
0040,0244 X      dates        PerformedProcedureStepStartDate
0040,0245 X      dates        PerformedProcedureStepStartTime
0040,0250 X      dates        PerformedProcedureStepEndDate
0040,0251 X      dates        PerformedProcedureStepEndTime
0040,0253 X                   PerformedProcedureStepID
0040,0254 X      desc=C       PerformedProcedureStepDescription
0040,0275 X      desc=C       RequestAttributesSequence
0040,0280 X      desc=C       CommentsOnThePerformedProcedureStep
0040,0310 X      desc=C       CommentsOnRadiationDose
0040,050A X                   SpecimenAccessionNumber
0040,0512 D                   ContainerIdentifier
0040,0513 Z                   IssuerOfTheContainerIdentifierSequence
0040,051A X      desc=C       ContainerDescription
0040,0551 D                   SpecimenIdentifier
0040,0554 U      uid=K        SpecimenUID
0040,0555 X/Z    struct=C     AcquisitionContextSequence
0040,0556 X      desc=C       AcquisitionContextDescription
0040,0562 Z                   IssuerOfTheSpecimenIdentifierSequence
0040,0600 X      desc=C       SpecimenShortDescription
0040,0602 X      desc=C       SpecimenDetailedDescription
0040,0610 Z      struct=C     SpecimenPreparationSequence
0040,06FA X                   SlideIdentifier
0040,1001 X                   RequestedProcedureID
0040,1002 X      desc=C       ReasonForTheRequestedProcedure
0040,1004 X                   PatientTransportArrangements
0040,1005 X                   RequestedProcedureLocation
0040,100A X      desc=C       ReasonForRequestedProcedureCodeSequence
0040,1010 X                   NamesOfIntendedRecipientsOfResults
0040,1011 X                   IntendedRecipientsOfResultsIdentificationSequence
0040,1101 D                   PersonIdentificationCodeSequence
0040,1102 X                   PersonAddress
0040,1103 X                   PersonTelephoneNumbers
0040,1104 X                   PersonTelecomInformation
0040,1400 X      desc=C       RequestedProcedureComments
0040,2001 X      desc=C       ReasonForTheImagingServiceRequest
0040,2004 X      dates        IssueDateOfImagingServiceRequest
0040,2005 X      dates        IssueTimeOfImagingServiceRequest
0040,2008 X                   OrderEnteredBy
0040,2009 X                   OrderEntererLocation
0040,2010 X                   OrderCallbackPhoneNumber
0040,2011 X                   OrderCallbackTelecomInformation
0040,2016 Z                   PlacerOrderNumberImagingServiceRequest
0040,2017 Z                   FillerOrderNumberImagingServiceRequest
0040,2400 X      desc=C       ImagingServiceRequestComments
0040,3001 X                   ConfidentialityConstraintOnPatientDataDescription
0040,4005 X      dates        ScheduledProcedureStepStartDateTime
0040,4008 X      dates        ScheduledProcedureStepExpirationDateTime
0040,4010 X      dates        ScheduledProcedureStepModificationDateTime
0040,4011 X      dates        ExpectedCompletionDateTime
0040,4023 U      uid=K        ReferencedGeneralPurposeScheduledProcedureStepTransactionUID
0040,4025 X      dev=K        ScheduledStationNameCodeSequence
0040,4027 X      dev=K        ScheduledStationGeographicLocationCodeSequence
0040,4028 X      dev=K        PerformedStationNameCodeSequence
0040,4030 X      dev=K        PerformedStationGeographicLocationCodeSequence
0040,4034 X                   ScheduledHumanPerformersSequence
0040,4035 X                   ActualHumanPerformersSequence
0040,4036 X                   HumanPerformerOrganization
0040,4037 X                   HumanPerformerName
0040,4050 X      dates        PerformedProcedureStepStartDateTime
0040,4051 X      dates        PerformedProcedureStepEndDateTime
0040,4052 X      dates        ProcedureStepCancellationDateTime
0040,A023 X      dates        FindingsGroupRecordingDateTrial
0040,A024 X      dates        FindingsGroupRecordingTimeTrial
0040,A027 D                   VerifyingOrganization
0040,A030 D      dates        VerificationDateTime
0040,A032 X/D    dates        ObservationDateTime
0040,A033 X      dates        ObservationStartDateTime
0040,A034 X      dates        EffectiveStartDateTime
0040,A035 X      dates        EffectiveStopDateTime
0040,A073 D                   VerifyingObserverSequence
0040,A075 D                   VerifyingObserverName
0040,A078 X                   AuthorObserverSequence
0040,A07A X                   ParticipantSequence
0040,A07C X                   CustodialOrganizationSequence
0040,A082 Z      dates        ParticipationDateTime
0040,A088 Z                   VerifyingObserverIdentificationCodeSequence
0040,A110 X      dates        DateOfDocumentOrVerbalTransactionTrial
0040,A112 X      dates        TimeOfDocumentCreationOrVerbalTransactionTrial
0040,A120 D      dates        DateTime
0040,A121 D      dates        Date
0040,A122 D      dates        Time
0040,A123 D                   PersonName
0040,A124 U                   UID
0040,A13A D      dates        ReferencedDateTime
0040,A171 U      uid=K        ObservationUID
0040,A172 U      uid=K        ReferencedObservationUIDTrial
0040,A192 X      dates        ObservationDateTrial
0040,A193 X      dates        ObservationTimeTrial
0040,A307 X                   CurrentObserverTrial
0040,A352 X                   VerbalSourceTrial
0040,A353 X                   AddressTrial
0040,A354 X                   TelephoneNumberTrial
0040,A358 X                   VerbalSourceIdentifierCodeSequenceTrial
0040,A402 U      uid=K        ObservationSubjectUIDTrial
0040,A730 D      struct=C     ContentSequence
0040,B020 X/D    struct=C     WaveformAnnotationSequence
0040,B034 X      dates        AnnotationDateTime
0040,B036 X      dates        SegmentDefinitionDateTime
0040,B03B X      desc=C       MontageName
0040,B03F X      desc=C       MontageChannelLabel
0040,DB06 X      dates        TemplateVersion
0040,DB07 X      dates        TemplateLocalVersion
0040,DB0C U      uid=K        TemplateExtensionOrganizationUID
0040,DB0D U      uid=K        TemplateExtensionCreatorUID
0040,E004 X      dates        HL7DocumentEffectiveTime
0040,E012 X                   DisplayURI
0042,0011 D                   EncapsulatedDocument
0044,0004 X      dates        ApprovalStatusDateTime
0044,000B X      dates        ProductExpirationDateTime
0044,0010 X      dates        SubstanceAdministrationDateTime
0044,0104 D      dates        AssertionDateTime
0044,0105 X      dates        AssertionExpirationDateTime
0050,001B X                   ContainerComponentID
0050,0020 X      dev=K        DeviceDescription
0050,0021 X      desc=C       LongDeviceDescription
0062,0021 U      uid=K        TrackingUID
0064,0003 U      uid=K        SourceFrameOfReferenceUID
0068,6226 D      dates        EffectiveDateTime
0068,6270 D      dates        InformationIssueDateTime
006A,0003 D      uid=K        AnnotationGroupUID
006A,0005 D      desc=C       AnnotationGroupLabel
006A,0006 X      desc=C       AnnotationGroupDescription
0070,0001 D      graph=C      GraphicAnnotationSequence
0070,0006 D      desc=C       UnformattedTextValue
0070,0082 X      dates        PresentationCreationDate
0070,0083 X      dates        PresentationCreationTime
0070,0084 Z/D                 ContentCreatorName
0070,0086 X                   ContentCreatorIdentificationCodeSequence
0070,031A U      uid=K        FiducialUID
0070,1101 U      uid=K        PresentationDisplayCollectionUID
0070,1102 U      uid=K        PresentationSequenceCollectionUID
0072,000A D      dates        HangingProtocolCreationDateTime
0072,005E D      dev=C        SelectorAEValue
0072,005F D      pat=K        SelectorASValue
0072,0061 D      dates        SelectorDAValue
0072,0063 D      dates        SelectorDTValue
0072,0065 D                   SelectorOBValue
0072,0066 D      desc=C       SelectorLOValue
0072,0068 D      desc=C       SelectorLTValue
0072,006A D                   SelectorPNValue
0072,006B D      dates        SelectorTMValue
0072,006C D      desc=C       SelectorSHValue
0072,006D D                   SelectorUNValue
0072,006E D      desc=C       SelectorSTValue
0072,0070 D      desc=C       SelectorUTValue
0072,0071 D                   SelectorURValue
0074,1234 X      dev=C        ReceivingAE
0074,1236 X      dev=C        RequestingAE
0088,0140 U      uid=K        StorageMediaFileSetUID
0088,0200 X                   IconImageSequence
0088,0904 X                   TopicTitle
0088,0906 X                   TopicSubject
0088,0910 X                   TopicAuthor
0088,0912 X                   TopicKeywords
0100,0420 X      dates        SOPAuthorizationDateTime
0400,0100 U                   DigitalSignatureUID
0400,0105 D      dates        DigitalSignatureDateTime
0400,0115 D                   CertificateOfSigner
0400,0310 X      dates        CertifiedTimestamp
0400,0402 X                   ReferencedDigitalSignatureSequence
0400,0403 X                   ReferencedSOPInstanceMACSequence
0400,0404 X                   MAC
0400,0550 X                   ModifiedAttributesSequence
0400,0551 X                   NonconformingModifiedAttributesSequence
0400,0552 X                   NonconformingDataElementValue
0400,0561 X                   OriginalAttributesSequence
0400,0562 D      dates        AttributeModificationDateTime
0400,0563 D      dev=K        ModifyingSystem
0400,0564 Z      inst=K       SourceOfPreviousValues
0400,0565 D      desc=C       ReasonForTheAttributeModification
0400,0600 X                   InstanceOriginStatus
2030,0020 X                   TextString
2100,0040 X      dates        CreationDate
2100,0050 X      dates        CreationTime
2100,0070 X      dev=C        Originator
2100,0140 D      dev=C        DestinationAE
2200,0002 X/Z    desc=C       LabelText
2200,0005 X/Z                 BarcodeValue
3002,0121 X      desc=C       PositionAcquisitionTemplateName
3002,0123 X      desc=C       PositionAcquisitionTemplateDescription
3004,007F X      desc=C       DoseCalculationModelName
3006,0002 D      desc=C       StructureSetLabel
3006,0004 X      desc=C       StructureSetName
3006,0006 X      desc=C       StructureSetDescription
3006,0008 Z      dates        StructureSetDate
3006,0009 Z      dates        StructureSetTime
3006,0024 U      uid=K        ReferencedFrameOfReferenceUID
3006,0026 Z      desc=C       ROIName
3006,0028 X      desc=C       ROIDescription
3006,002D X      dates        ROIDateTime
3006,002E X      dates        ROIObservationDateTime
3006,0038 X      desc=C       ROIGenerationDescription
3006,004D X                   ROICreatorSequence
3006,004E X                   ROIInterpreterSequence
3006,0085 X      desc=C       ROIObservationLabel
3006,0088 X      desc=C       ROIObservationDescription
3006,00A6 Z                   ROIInterpreter
3006,00C2 U      uid=K        RelatedFrameOfReferenceUID
3008,0024 D      dates        TreatmentControlPointDate
3008,0025 D      dates        TreatmentControlPointTime
3008,0054 X/D    dates        FirstTreatmentDate
3008,0056 X/D    dates        MostRecentTreatmentDate
3008,0105 X/Z    dev=K        SourceSerialNumber
3008,0162 D      dates        SafePositionExitDate
3008,0164 D      dates        SafePositionExitTime
3008,0166 D      dates        SafePositionReturnDate
3008,0168 D      dates        SafePositionReturnTime
3008,0250 X/D    dates        TreatmentDate
3008,0251 X/D    dates        TreatmentTime
300A,0002 D      desc=C       RTPlanLabel
300A,0003 X      desc=C       RTPlanName
300A,0004 X      desc=C       RTPlanDescription
300A,0006 X/D    dates        RTPlanDate
300A,0007 X/D    dates        RTPlanTime
300A,000B X      desc=C       TreatmentSites
300A,000E X      desc=C       PrescriptionDescription
300A,0013 U      uid=K        DoseReferenceUID
300A,0016 X      desc=C       DoseReferenceDescription
300A,0054 U      uid=K        TableTopPositionAlignmentUID
300A,0072 X      desc=C       FractionGroupDescription
300A,0083 U      uid=K        ReferencedDoseReferenceUID
300A,00B2 X/Z    dev=K        TreatmentMachineName
300A,00C3 X      desc=C       BeamDescription
300A,00DD X      desc=C       BolusDescription
300A,0196 X      desc=C       FixationDeviceDescription
300A,01A6 X      desc=C       ShieldingDeviceDescription
300A,01B2 X      desc=C       SetupTechniqueDescription
300A,0216 X      dev=K        SourceManufacturer
300A,022C D      dates        SourceStrengthReferenceDate
300A,022E D      dates        SourceStrengthReferenceTime
300A,02EB X      desc=C       CompensatorDescription
300A,0608 D      desc=C       TreatmentPositionGroupLabel
300A,0609 U      uid=K        TreatmentPositionGroupUID
300A,0611 Z                   RTAccessoryHolderSlotID
300A,0615 Z                   RTAccessoryDeviceSlotID
300A,0619 D      desc=C       RadiationDoseIdentificationLabel
300A,0623 D      desc=C       RadiationDoseInVivoMeasurementLabel
300A,062A D      desc=C       RTToleranceSetLabel
300A,0650 U      uid=K        PatientSetupUID
300A,0676 X      desc=C       EquipmentFrameOfReferenceDescription
300A,067C D      desc=C       RadiationGenerationModeLabel
300A,067D Z      desc=C       RadiationGenerationModeDescription
300A,0700 U      uid=K        TreatmentSessionUID
300A,0734 D      desc=C       TreatmentToleranceViolationDescription
300A,0736 D      dates        TreatmentToleranceViolationDateTime
300A,073A D      dates        RecordedRTControlPointDateTime
300A,0741 D      dates        InterlockDateTime
300A,0742 D      desc=C       InterlockDescription
300A,0760 D      dates        OverrideDateTime
300A,0783 D      desc=C       InterlockOriginDescription
300A,0785 U      uid=K        ReferencedTreatmentPositionGroupUID
300A,078E X      desc=C       PatientTreatmentPreparationProcedureParameterDescription
300A,0792 X      desc=C       PatientTreatmentPreparationMethodDescription
300A,0794 X      desc=C       PatientSetupPhotoDescription
300A,079A X      desc=C       DisplacementReferenceLabel
300C,0113 X      desc=C       ReasonForOmissionDescription
300C,0127 D      dev=K dates  BeamHoldTransitionDateTime
300E,0004 Z      dates        ReviewDate
300E,0005 Z      dates        ReviewTime
300E,0008 X/Z                 ReviewerName
3010,0006 U      uid=K        ConceptualVolumeUID
3010,000B U      uid=K        ReferencedConceptualVolumeUID
3010,000F Z      desc=C       ConceptualVolumeCombinationDescription
3010,0013 U      uid=K        ConstituentConceptualVolumeUID
3010,0015 U      uid=K        SourceConceptualVolumeUID
3010,0017 Z      desc=C       ConceptualVolumeDescription
3010,001B Z                   DeviceAlternateIdentifier
3010,002D D      dev=K        DeviceLabel
3010,0031 U      uid=K        ReferencedFiducialsUID
3010,0033 D      desc=C       UserContentLabel
3010,0034 D      desc=C       UserContentLongLabel
3010,0035 D      desc=C       EntityLabel
3010,0036 X      desc=C       EntityName
3010,0037 X      desc=C       EntityDescription
3010,0038 D      desc=C       EntityLongLabel
3010,003B U      uid=K        RTTreatmentPhaseUID
3010,0043 Z      dev=K        ManufacturerDeviceIdentifier
3010,004C X/D    dates        IntendedPhaseStartDate
3010,004D X/D    dates        IntendedPhaseEndDate
3010,0054 D      desc=C       RTPrescriptionLabel
3010,0056 X/D    desc=C       RTTreatmentApproachLabel
3010,005A Z      desc=C       RTPhysicianIntentNarrative
3010,005C Z      desc=C       ReasonForSuperseding
3010,0061 X      desc=C       PriorTreatmentDoseDescription
3010,006E U      uid=K        DosimetricObjectiveUID
3010,006F U      uid=K        ReferencedDosimetricObjectiveUID
3010,0077 X/D    desc=C       TreatmentSite
3010,007A Z      desc=C       TreatmentTechniqueNotes
3010,007B Z      desc=C       PrescriptionNotes
3010,007F Z      desc=C       FractionationNotes
3010,0081 Z      desc=C       PrescriptionNotesSequence
3010,0085 X      dates        IntendedFractionStartTime
4000,0010 X                   Arbitrary
4000,4000 X                   TextComments
4008,0040 X                   ResultsID
4008,0042 X                   ResultsIDIssuer
4008,0100 X      dates        InterpretationRecordedDate
4008,0101 X      dates        InterpretationRecordedTime
4008,0102 X                   InterpretationRecorder
4008,0108 X      dates        InterpretationTranscriptionDate
4008,0109 X      dates        InterpretationTranscriptionTime
4008,010A X                   InterpretationTranscriber
4008,010B X      desc=C       InterpretationText
4008,010C X                   InterpretationAuthor
4008,0111 X                   InterpretationApproverSequence
4008,0112 X      dates        InterpretationApprovalDate
4008,0113 X      dates        InterpretationApprovalTime
4008,0114 X                   PhysicianApprovingInterpretation
4008,0115 X      desc=C       InterpretationDiagnosisDescription
4008,0118 X                   ResultsDistributionListSequence
4008,0119 X                   DistributionName
4008,011A X                   DistributionAddress
4008,0200 X                   InterpretationID
4008,0202 X                   InterpretationIDIssuer
4008,0300 X      desc=C       Impressions
4008,4000 X      desc=C       ResultsComments
FFFA,FFFA X                   DigitalSignaturesSequence
FFFC,FFFC X                   DataSetTrailingPadding
"""


@dataclass(frozen=True)
class Row:
    """One row of Table E.1-1."""

    tag: int
    keyword: str
    basic: str  # the Basic Profile code as printed
    options: dict[str, str]  # option column -> K or C


def _parse(text: str) -> dict[int, Row]:
    rows: dict[int, Row] = {}
    for line in text.strip().splitlines():
        tag, basic, *rest = line.split()
        options: dict[str, str] = {}
        for token in rest[:-1]:
            if token == "dates":
                options.update(full_dates="K", modified_dates="C")
            else:
                name, action = token.split("=")
                options[name] = action
        rows[int(tag.replace(",", ""), 16)] = Row(int(tag.replace(",", ""), 16), rest[-1], basic, options)
    return rows


ROWS: Final[dict[int, Row]] = _parse(_TABLE)
BASIC: Final[dict[int, str]] = {tag: row.basic for tag, row in ROWS.items()}

# The spec's option names -> the table's option column. Retain UIDs, Retain Institution Identity, Full Dates,
# Clean Structured Content and Clean Graphics are in the table but not offered (docs/adr/0012).
OPTION_COLUMNS: Final[dict[str, str]] = {
    "retain_long_modified_dates": "modified_dates",
    "retain_patient_chars": "pat",
    "clean_descriptors": "desc",
    "retain_device_identity": "dev",
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
    """The single action a (possibly composite) Basic Profile code resolves to: ``D``, ``Z``, ``X`` or ``U``.

    ``X/...`` removes (the standard allows removal wherever the IOD makes the attribute type 3; a type 1 or 2
    one removed leaves a file a strict validator flags, not an identity); ``Z/D`` empties; ``X/Z/U*`` keeps a
    reference sequence with its UIDs replaced.
    """
    if code.endswith("U*"):
        return "U"
    return code.split("/", maxsplit=1)[0]


def actions(options: list[str]) -> dict[int, str]:
    """Tag -> resolved action for the Basic Profile with the spec's ``options`` applied.

    Where an option names a row, its code replaces the Basic Profile's; where two chosen options name the same
    row differently (Retain Device Identity ``K`` and Modified Dates ``C`` on a calibration date), ``C`` wins:
    the more protective of the two.
    """
    columns = [OPTION_COLUMNS[o] for o in options]
    table: dict[int, str] = {}
    for tag, row in ROWS.items():
        chosen = {row.options[c] for c in columns if c in row.options}
        table[tag] = ("C" if "C" in chosen else "K") if chosen else basic_action(row.basic)
    return table
